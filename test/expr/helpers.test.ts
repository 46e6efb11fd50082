import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr, type HelperContext, AnyMap } from '../../src/expr/index.js';
import { newLogEvent } from '../../src/core/event.js';
import { parseXml, compileXmlPath, findElements, XmlError } from '../../src/expr/xml.js';
import { sprintf } from '../../src/expr/sprintf.js';

const ev = (raw: string, parsed: Record<string, string> = {}) => {
  const evt = newLogEvent(raw, { labels: { type: 'eventlog' } });
  for (const [k, v] of Object.entries(parsed)) evt.Parsed.set(k, v);
  return evt;
};
const run = (src: string, env: Record<string, unknown> = {}, helpers: HelperContext = {}) =>
  compileExpr(src, { env: Object.keys(env), helpers }).run(env);

// A Windows Security 4625 event as the Windows acquisition renders it (one line).
const WIN_4625 =
  "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/>" +
  "<EventID>4625</EventID><Version>0</Version><Level>0</Level><Task>12544</Task><Keywords>0x8010000000000000</Keywords>" +
  "<TimeCreated SystemTime='2022-09-23T10:24:49.6385529Z'/><EventRecordID>2394</EventRecordID><Channel>Security</Channel><Computer>WIN-DC01</Computer></System>" +
  "<EventData><Data Name='SubjectUserSid'>S-1-0-0</Data><Data Name='TargetUserName'>administrator</Data>" +
  "<Data Name='WorkstationName'>KALI &amp; co</Data><Data Name='IpAddress'>192.168.1.20</Data><Data Name='IpPort'>0</Data>" +
  "<Data Name='Empty'/><Data Name='Cdata'><![CDATA[a<b]]></Data></EventData></Event>";

test('XMLGetNodeValue / XMLGetAttributeValue on a Windows event', () => {
  const env = { evt: ev(WIN_4625) };
  assert.equal(run("XMLGetNodeValue(evt.Line.Raw, '/Event/System[1]/EventID')", env), '4625');
  assert.equal(run(`XMLGetNodeValue(evt.Line.Raw, "/Event/EventData[1]/Data[@Name='IpAddress']")`, env), '192.168.1.20');
  assert.equal(run(`XMLGetNodeValue(evt.Line.Raw, "/Event/EventData[1]/Data[@Name='TargetUserName']")`, env), 'administrator');
  assert.equal(run(`XMLGetNodeValue(evt.Line.Raw, "/Event/EventData[1]/Data[@Name='WorkstationName']")`, env), 'KALI & co');
  assert.equal(run(`XMLGetNodeValue(evt.Line.Raw, "/Event/EventData[1]/Data[@Name='Cdata']")`, env), 'a<b');
  assert.equal(run(`XMLGetNodeValue(evt.Line.Raw, "/Event/EventData[1]/Data[2]")`, env), 'administrator');
  assert.equal(run(`XMLGetNodeValue(evt.Line.Raw, "/Event/EventData[1]/Data[-1]")`, env), 'a<b');
  assert.equal(run(`XMLGetNodeValue(evt.Line.Raw, "//Channel")`, env), 'Security');
  assert.equal(run(`XMLGetNodeValue(evt.Line.Raw, "/Event/EventData[1]/Data[@Name='Missing']")`, env), '');
  assert.equal(run(`XMLGetNodeValue(evt.Line.Raw, "/Event/EventData[1]/Data[@Name='Empty']")`, env), '');
  assert.equal(run(`XMLGetAttributeValue(evt.Line.Raw, "/Event/System[1]/Provider", "Name")`, env), 'Microsoft-Windows-Security-Auditing');
  assert.equal(run(`XMLGetAttributeValue(evt.Line.Raw, "/Event/System[1]/TimeCreated", "SystemTime")`, env), '2022-09-23T10:24:49.6385529Z');
  assert.equal(run(`XMLGetAttributeValue(evt.Line.Raw, "/Event/System[1]/TimeCreated", "Nope")`, env), '');
  // Malformed XML or path: "" and a warning, never an exception.
  const warnings: string[] = [];
  assert.equal(run("XMLGetNodeValue('<Event><a></Event>', '/Event/a')", {}, { warn: (m) => warnings.push(m) }), '');
  assert.equal(run("XMLGetNodeValue('<a>x</a>', '/a[')", {}, { warn: (m) => warnings.push(m) }), '');
  assert.equal(warnings.length, 2);
});

test('XML reader: safety and etree path filters', () => {
  assert.throws(() => parseXml('<a><b></a>'), XmlError);
  assert.throws(() => parseXml('<a x=1/>'), XmlError);
  assert.throws(() => parseXml('<a>&custom;</a>'), XmlError);
  assert.throws(() => parseXml('<a>' + '<b>'.repeat(300) + '</b>'.repeat(300) + '</a>'), XmlError);
  // A DOCTYPE with an internal entity is skipped, never expanded.
  const doc = parseXml('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "boom">]><r><i k="1">x</i><i k="2"><n>y</n>z</i><j>w</j></r>');
  const texts = (p: string) => findElements(doc, compileXmlPath(p)).map((e) => e.children.filter((c) => typeof c === 'string').join(''));
  assert.deepEqual(texts('/r/i'), ['x', 'z']);
  assert.deepEqual(texts("/r/i[@k='2']"), ['z']);
  assert.deepEqual(texts('/r/i[@k]'), ['x', 'z']);
  assert.deepEqual(texts("/r/i[n='y']"), ['z']);
  assert.deepEqual(texts('/r/*'), ['x', 'z', 'w']);
  assert.deepEqual(texts("/r/i[text()='x']"), ['x']);
  assert.deepEqual(texts('//n/..'), ['z']);
});

test('Upper / Lower', () => {
  assert.equal(run("Upper('/wp-login.php?a=é')"), '/WP-LOGIN.PHP?A=É');
  assert.equal(run("Lower('SSHD-Session')"), 'sshd-session');
  assert.equal(run("Upper('straße')"), 'STRAßE'); // Go maps rune by rune: ß has no single-rune upper case
  assert.equal(run("Upper(evt.Parsed.file_ext) in ['.JPG', '.CSS']", { evt: ev('', { file_ext: '.jpg' }) }), true);
});

test('JsonExtract family on a realistic JSON log', () => {
  const caddy = JSON.stringify({
    level: 'info', ts: 1663929889.5, logger: 'http.log.access',
    request: { remote_ip: '10.0.0.1', method: 'GET', uri: '/admin', headers: { Authorization: ['Basic YWRtaW46YWRtaW4='], 'User-Agent': ['curl/7.81'] } },
    status: 401, msg: 'handled "request"\n', ok: true, nothing: null,
  });
  const env = { evt: ev(caddy) };
  assert.equal(run("JsonExtract(evt.Line.Raw, 'request.remote_ip')", env), '10.0.0.1');
  assert.equal(run("JsonExtract(evt.Line.Raw, 'request.headers.Authorization[0]')", env), 'Basic YWRtaW46YWRtaW4=');
  assert.equal(run("JsonExtract(evt.Line.Raw, 'status')", env), '401');
  assert.equal(run("JsonExtract(evt.Line.Raw, 'ts')", env), '1663929889.5');
  assert.equal(run("JsonExtract(evt.Line.Raw, 'ok')", env), 'true');
  assert.equal(run("JsonExtract(evt.Line.Raw, 'nothing')", env), 'null');
  // Strings come back without quotes but still escaped.
  assert.equal(run("JsonExtract(evt.Line.Raw, 'msg')", env), 'handled \\"request\\"\\n');
  assert.equal(run("JsonExtract(evt.Line.Raw, 'request.headers.User-Agent')", env), '["curl/7.81"]');
  assert.equal(run("JsonExtract(evt.Line.Raw, 'request.nope')", env), '');
  assert.equal(run("JsonExtract(evt.Line.Raw, 'request.headers.Authorization[3]')", env), '');
  assert.equal(run("JsonExtract('{not json', 'a')"), '');
  assert.equal(run("JsonExtract(evt.Line.Raw, 'status') == '401' && JsonExtract(evt.Line.Raw, 'request.headers.Authorization[0]') startsWith 'Basic ' ? 'auth_fail' : ''", env), 'auth_fail');
  assert.equal(run("JsonExtractUnescape(evt.Line.Raw, 'msg')", env), 'handled "request"\n');
  assert.equal(run("JsonExtractUnescape(evt.Line.Raw, 'request', 'headers', 'Authorization', '[0]')", env), 'Basic YWRtaW46YWRtaW4=');
  assert.equal(run("JsonExtractUnescape(evt.Line.Raw, 'status')", env), '');
  assert.equal(run("JsonExtractLib(evt.Line.Raw, 'request', 'method')", env), 'GET');
  assert.equal(run("JsonExtractObject(evt.Line.Raw, 'request').method", env), 'GET');
  assert.equal(run("JsonExtractObject(evt.Line.Raw, 'status')", env), null);
  assert.deepEqual(run("JsonExtractSlice(evt.Line.Raw, 'request.headers.User-Agent')", env), ['curl/7.81']);
  assert.equal(run("JsonExtractSlice(evt.Line.Raw, 'status')", env), null);
  // The gitlab parser's chain: filter over decoded objects, then index into maps.
  const gitlab = JSON.stringify({ method: 'POST', path: '/users/sign_in', status: 0,
    params: [{ key: 'authenticity_token', value: '[FILTERED]' }, { key: 'user', value: { login: 'alice', password: '[FILTERED]' } }] });
  const genv = { evt: ev('', { message: gitlab }) };
  assert.equal(run(`any(JsonExtractSlice(evt.Parsed.message, "params"), {.key == 'user' && .value.login != ''})`, genv), true);
  assert.equal(run(`filter(JsonExtractSlice(evt.Parsed.message, "params"), {.key == 'user' && .value.login != ''})[0]['value']['login']`, genv), 'alice');
});

test('ToJsonString renders like Go json.Marshal', () => {
  assert.equal(run("ToJsonString({b: 1, a: ['x', '<y>'], c: nil, d: 1.5, e: true})"), '{"a":["x","\\u003cy\\u003e"],"b":1,"c":null,"d":1.5,"e":true}');
  assert.equal(run('ToJsonString(evt.Meta)', { evt: (() => { const e = ev(''); e.Meta.set('z', '1'); e.Meta.set('a', '&'); return e; })() }), '{"a":"\\u0026","z":"1"}');
});

test('File / RegexpInFile read the data store; unknown file warns', () => {
  const data = {
    strings: (n: string) => (n === 'backdoors.txt' ? ['c99.php', 'r57.php'] : undefined),
    regexps: (n: string) => (n === 'bad_user_agents.regex.txt' ? [/sqlmap/, /^Nikto/] : undefined),
  };
  const warnings: string[] = [];
  const helpers = { data, warn: (m: string) => warnings.push(m) };
  const evt = ev('', { file_name: 'c99.php', http_user_agent: 'Mozilla/5.0 sqlmap/1.6' });
  assert.equal(run("evt.Parsed.file_name in File('backdoors.txt')", { evt }, helpers), true);
  assert.equal(run("any(File('backdoors.txt'), {evt.Parsed.file_name contains #})", { evt }, helpers), true);
  assert.equal(run("RegexpInFile(evt.Parsed.http_user_agent, 'bad_user_agents.regex.txt')", { evt }, helpers), true);
  assert.equal(run("RegexpInFile('curl/7', 'bad_user_agents.regex.txt')", { evt }, helpers), false);
  assert.deepEqual(run("File('nope.txt')", {}, helpers), []);
  assert.equal(run("RegexpInFile('x', 'nope.regex')", {}, helpers), false);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /nope\.txt/);
});

test('IpInRange / IpToRange / IsIPV6', () => {
  assert.equal(run("IpInRange('192.168.1.20', '192.168.0.0/16')"), true);
  assert.equal(run("IpInRange('10.1.2.3', '192.168.0.0/16')"), false);
  assert.equal(run("IpInRange('2001:db8::1', '2001:db8::/32')"), true);
  assert.equal(run("IpInRange('1.2.3.4', '::/0')"), false); // Go: no cross-family match
  assert.equal(run("IpInRange('not-an-ip', '10.0.0.0/8')"), false);
  assert.equal(run("IpInRange('10.0.0.1', '10.0.0.0')"), false);
  assert.equal(run("IpToRange('2001:db8:85a3::8a2e:370:7334', '/64')"), '2001:db8:85a3::/64');
  assert.equal(run("IpToRange('192.168.1.20', '24')"), '192.168.1.0/24');
  assert.equal(run("IpToRange('192.168.1.20', '/40')", {}, { warn: () => {} }), '');
  assert.equal(run("IpToRange('nope', '/64')", {}, { warn: () => {} }), '');
  assert.equal(run("IsIPV6('2001:db8::1')"), true);
  assert.equal(run("IsIPV6('::ffff:1.2.3.4')"), false);
  assert.equal(run("IsIPV6('1.2.3.4')"), false);
  assert.equal(run("IsIPV6('zz')"), false);
});

test('URL escaping helpers follow Go net/url', () => {
  assert.equal(run("PathUnescape('/%2e%2e/%2e%2e/etc/passwd')"), '/../../etc/passwd');
  assert.equal(run("PathUnescape('/a+b%20c')"), '/a+b c');
  assert.equal(run("PathUnescape('/bad%zzescape')", {}, { warn: () => {} }), '/bad%zzescape');
  assert.equal(run("PathUnescape('%C3%A9')"), 'é');
  assert.equal(run("QueryUnescape('a+b%3D1')"), 'a b=1');
  assert.equal(run("QueryUnescape('%')", {}, { warn: () => {} }), '%');
  assert.equal(run("PathEscape('a b/c?d&e=f@g:h;i,j')"), 'a%20b%2Fc%3Fd&e=f@g:h%3Bi%2Cj');
  assert.equal(run("QueryEscape('a b/c?d&e=f~-_.é')"), 'a+b%2Fc%3Fd%26e%3Df~-_.%C3%A9');
  const u = run("ParseUri('/index.php?id=1&id=2&q=a+b&empty=')") as Map<string, string[]>;
  assert.ok(u instanceof AnyMap);
  assert.deepEqual([...u], [['id', ['1', '2']], ['q', ['a b']], ['empty', ['']]]);
  assert.deepEqual(run("ParseUri('/x?id=1')['id'][0]"), '1');
  assert.equal((run("ParseUri('/x?a=%zz')", {}, { warn: () => {} }) as Map<string, string[]>).size, 0);
});

test('Atof, TimeNow, LookupHost', () => {
  assert.equal(run("Atof('3.25')"), 3.25);
  assert.equal(run("Atof('-1e3')"), -1000);
  assert.equal(run("Atof('abc')", {}, { warn: () => {} }), 0);
  assert.equal(run("Atof(' 1')", {}, { warn: () => {} }), 0);
  assert.equal(run("Atof('0x1p-2')"), 0.25);
  assert.equal(run("Atof('1.5') * 2"), 3);
  assert.equal(run('TimeNow()', {}, { now: () => new Date('2023-02-12T14:10:21.123Z') }), '2023-02-12T14:10:21Z');
  assert.match(run('TimeNow()') as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(run("LookupHost('10.0.0.1')"), ['10.0.0.1']);
  const warnings: string[] = [];
  assert.deepEqual(run("LookupHost('example.org')", {}, { warn: (m) => warnings.push(m) }), []);
  assert.equal(warnings.length, 1);
});

test('GetDecisionsCount / GetDecisionsSinceCount without a store return 0', () => {
  const warnings: string[] = [];
  assert.equal(run("GetDecisionsCount('1.2.3.4')", {}, { warn: (m) => warnings.push(m) }), 0);
  assert.equal(run("GetDecisionsSinceCount('1.2.3.4', '1h')", {}, { warn: (m) => warnings.push(m) }), 0);
  assert.equal(run("GetDecisionsSinceCount('1.2.3.4', '1 day')", {}, { decisionsSinceCount: () => 9, warn: (m) => warnings.push(m) }), 0);
  assert.equal(run("GetDecisionsSinceCount('1.2.3.4', '1h30m')", {}, { decisionsSinceCount: () => 9 }), 9);
  assert.equal(warnings.length, 3);
});

test('Sprintf follows Go fmt', () => {
  assert.equal(run("Sprintf('%s from %s port %d', 'root', '1.2.3.4', 22)"), 'root from 1.2.3.4 port 22');
  assert.equal(run("Sprintf('%v|%v|%v|%v', 1, 1.5, true, nil)"), '1|1.5|true|<nil>');
  assert.equal(run("Sprintf('%v', ['a', 'b'])"), '[a b]');
  assert.equal(run("Sprintf('%v', {b: 2, a: 1})"), 'map[a:1 b:2]');
  assert.equal(run("Sprintf('%q', 'say \"hi\"\\n')"), '"say \\"hi\\"\\n"');
  assert.equal(run("Sprintf('%.2f|%f|%8.3f|%-6d|%06d', 3.14159, 2.5, 1.0006, 42, -42)"), '3.14|2.500000|   1.001|42    |-00042');
  assert.equal(run("Sprintf('%x|%X|%#x|%x', 255, 255, 255, 'hi')"), 'ff|FF|0xff|6869');
  assert.equal(run("Sprintf('%d%%', 50)"), '50%');
  assert.equal(run("Sprintf('%d', 'x')"), '%!d(string=x)');
  assert.equal(run("Sprintf('%s %s', 'a')"), 'a %!s(MISSING)');
  assert.equal(run("Sprintf('%s', 'a', 1)"), 'a%!(EXTRA int=1)');
  assert.equal(run("Sprintf('%t', true)"), 'true');
  assert.equal(sprintf('%v %v %v', [1e21, 1234567.5, 0.00001]), '1e+21 1.2345675e+06 1e-05');
  assert.equal(sprintf('%g|%e|%.3g', [100000.5, 1234.5678, 1234.5678]), '100000.5|1.234568e+03|1.23e+03');
  assert.equal(sprintf('%5s|%-5s|%.2s', ['ab', 'ab', 'abcdef']), '   ab|ab   |ab');
});
