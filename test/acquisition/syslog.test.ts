/** The syslog source: RFC 3164 / 5424 parsing and UDP / TCP listeners on 127.0.0.1. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { SyslogServer, syslogToLine } from '../../src/acquisition/syslog.js';
import { waitFor } from './support.js';

const now = new Date(2026, 10, 27, 19, 5, 9);

test('RFC 3164 messages become classic syslog lines', () => {
  assert.equal(
    syslogToLine('<38>Nov 27 19:04:01 web1 sshd[812]: Failed password for root from 203.0.113.9 port 22 ssh2', now),
    'Nov 27 19:04:01 web1 sshd[812]: Failed password for root from 203.0.113.9 port 22 ssh2',
  );
  // No hostname (what `logger -n` and many devices send), single-digit day.
  assert.equal(syslogToLine('<13>Feb  3 01:02:03 sudo: pam_unix(sudo:auth): authentication failure\n', now), 'Feb  3 01:02:03 localhost sudo: pam_unix(sudo:auth): authentication failure');
  // No timestamp at all: the receive time is used.
  assert.equal(syslogToLine('<13>kernel: oops', now), 'Nov 27 19:05:09 localhost kernel: oops');
});

test('RFC 5424 messages, with structured data and nil fields', () => {
  assert.equal(
    syslogToLine('<165>1 2026-11-27T10:14:15.003Z mymachine sshd 4242 ID47 [exampleSDID@32473 iut="3" x="a\\]b"] \uFEFFInvalid user bob from 198.51.100.7 port 4000', now)!
      .replace(/^\w{3} [ \d]\d \d\d:\d\d:\d\d/, 'TS'),
    'TS mymachine sshd[4242]: Invalid user bob from 198.51.100.7 port 4000',
  );
  assert.equal(syslogToLine('<14>1 - - app - - - hello', now), 'Nov 27 19:05:09 localhost app: hello');
});

test('messages without a valid PRI are refused', () => {
  assert.equal(syslogToLine('no header', now), null);
  assert.equal(syslogToLine('<999>Nov 27 19:04:01 h x: y', now), null);
  assert.equal(syslogToLine('<34>1 2026-11-27T10:14:15Z host app 1 id [unterminated', now), null);
});

const servers: SyslogServer[] = [];
after(async () => { for (const s of servers) await s.stop(); });

test('UDP and TCP listeners on 127.0.0.1 deliver lines (newline and octet-counted framing)', async () => {
  const got: [string, string][] = [];
  const srv = new SyslogServer({ listenPort: 0, maxMessageLength: 300, onLine: (l, s) => got.push([l, s]) });
  servers.push(srv);
  const { udpPort, tcpPort } = await srv.start();
  assert.ok(udpPort && tcpPort);

  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.send('<38>Nov 27 19:04:01 web1 sshd[1]: via udp', udpPort, '127.0.0.1', () => r()));
  await new Promise<void>((r) => udp.send('<38>' + 'z'.repeat(400), udpPort, '127.0.0.1', () => r())); // too long: dropped
  udp.close();
  await waitFor(() => got.length >= 1 && srv.stats.tooLong >= 1, 'UDP message');

  const c = connect(tcpPort, '127.0.0.1');
  await new Promise<void>((r) => c.once('connect', () => r()));
  const framed = '<38>1 2026-11-27T10:00:00Z web2 sshd 7 - - octet counted';
  // Split across writes, so framing must survive partial reads.
  c.write('<38>Nov 27 19:04:02 web1 sshd[1]: line one\n<38>Nov 27 19:04:03 web1 sshd[1]: li');
  await new Promise((r) => setTimeout(r, 30));
  c.write(`ne two\n${Buffer.byteLength(framed)} ${framed}`);
  await waitFor(() => got.length >= 4, 'TCP messages');
  c.end();

  assert.equal(got[0]![0], 'Nov 27 19:04:01 web1 sshd[1]: via udp');
  assert.match(got[0]![1], /^udp:127\.0\.0\.1$/);
  assert.deepEqual(got.slice(1, 3).map(([l]) => l), ['Nov 27 19:04:02 web1 sshd[1]: line one', 'Nov 27 19:04:03 web1 sshd[1]: line two']);
  assert.match(got[3]![0], /^\w{3} [ \d]\d \d\d:\d\d:\d\d web2 sshd\[7\]: octet counted$/);
  assert.match(got[3]![1], /^tcp:/);
  assert.equal(srv.stats.tooLong, 1);
});
