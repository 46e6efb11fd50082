/**
 * The grok base patterns that CrowdSec's grok library (grokky v0.1.0) preloads before the
 * pattern files. The regex strings are data, kept byte for byte, quirks included: MONTH has
 * `\b` only before its first and after its last alternative, ANSIC ends in a stray `"`,
 * EMAILLOCALPART's `+-=` is a range. Order matters only for readability: definitions may
 * reference any name (expansion is lazy).
 */
export const BUILTIN_PATTERNS: ReadonlyArray<readonly [name: string, expr: string]> = [
  ['USERNAME', String.raw`[a-zA-Z0-9._-]+`],
  ['USER', String.raw`%{USERNAME}`],
  ['EMAILLOCALPART', String.raw`[a-zA-Z0-9_.+-=:]+`],
  ['HOSTNAME', String.raw`\b[0-9A-Za-z][0-9A-Za-z-]{0,62}(?:\.[0-9A-Za-z][0-9A-Za-z-]{0,62})*(\.?|\b)`],
  ['EMAILADDRESS', String.raw`%{EMAILLOCALPART}@%{HOSTNAME}`],
  ['HTTPDUSER', String.raw`%{EMAILADDRESS}|%{USER}`],
  ['INT', String.raw`[+-]?(?:[0-9]+)`],
  ['BASE10NUM', String.raw`[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+))`],
  ['NUMBER', String.raw`%{BASE10NUM}`],
  ['BASE16NUM', String.raw`[+-]?(?:0x)?(?:[0-9A-Fa-f]+)`],
  ['BASE16FLOAT', String.raw`\b[+-]?(?:0x)?(?:(?:[0-9A-Fa-f]+(?:\.[0-9A-Fa-f]*)?)|(?:\.[0-9A-Fa-f]+))\b`],

  ['POSINT', String.raw`\b[1-9][0-9]*\b`],
  ['NONNEGINT', String.raw`\b[0-9]+\b`],
  ['WORD', String.raw`\b\w+\b`],
  ['NOTSPACE', String.raw`\S+`],
  ['SPACE', String.raw`\s*`],
  ['DATA', String.raw`.*?`],
  ['GREEDYDATA', String.raw`.*`],
  // Contains backticks, so written as an ordinary string literal.
  ['QUOTEDSTRING', '(\\"(\\\\.|[^\\\\\\"]+)+\\")|\\"\\"|(\'(\\\\.|[^\\\\\']+)+\')|\'\'|(`(\\\\.|[^\\\\`]+)+`)|``'],
  ['UUID', String.raw`[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}`],

  // Networking
  ['CISCOMAC', String.raw`(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4}`],
  ['WINDOWSMAC', String.raw`(?:[A-Fa-f0-9]{2}-){5}[A-Fa-f0-9]{2}`],
  ['COMMONMAC', String.raw`(?:[A-Fa-f0-9]{2}:){5}[A-Fa-f0-9]{2}`],
  ['MAC', String.raw`%{CISCOMAC}|%{WINDOWSMAC}|%{COMMONMAC}`],
  ['IPV6', String.raw`((([0-9A-Fa-f]{1,4}:){7}([0-9A-Fa-f]{1,4}|:))|(([0-9A-Fa-f]{1,4}:){6}(:[0-9A-Fa-f]{1,4}|((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){5}(((:[0-9A-Fa-f]{1,4}){1,2})|:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){4}(((:[0-9A-Fa-f]{1,4}){1,3})|((:[0-9A-Fa-f]{1,4})?:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){3}(((:[0-9A-Fa-f]{1,4}){1,4})|((:[0-9A-Fa-f]{1,4}){0,2}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){2}(((:[0-9A-Fa-f]{1,4}){1,5})|((:[0-9A-Fa-f]{1,4}){0,3}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){1}(((:[0-9A-Fa-f]{1,4}){1,6})|((:[0-9A-Fa-f]{1,4}){0,4}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(:(((:[0-9A-Fa-f]{1,4}){1,7})|((:[0-9A-Fa-f]{1,4}){0,5}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:)))(%.+)?`],
  ['IPV4', String.raw`(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)`],
  ['IP', String.raw`%{IPV6}|%{IPV4}`],
  ['IPORHOST', String.raw`%{IP}|%{HOSTNAME}`],
  ['HOSTPORT', String.raw`%{IPORHOST}:%{POSINT}`],

  // Paths
  ['UNIXPATH', String.raw`(/([\w_%!$@:.,~-]+|\\.)*)+`],
  ['TTY', String.raw`/dev/(pts|tty([pq])?)(\w+)?/?(?:[0-9]+)`],
  ['WINPATH', String.raw`(?:[A-Za-z]+:|\\)(?:\\[^\\?*]*)+`],
  ['PATH', String.raw`%{UNIXPATH}|%{WINPATH}`],
  ['URIPROTO', String.raw`[A-Za-z]+(\+[A-Za-z+]+)?`],
  ['URIHOST', String.raw`%{IPORHOST}(?::%{POSINT:port})?`],
  ['URIPATH', String.raw`(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%_\-]*)+`],
  ['URIPARAM', String.raw`\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*`],
  ['URIPATHPARAM', String.raw`%{URIPATH}(?:%{URIPARAM})?`],
  ['URI', String.raw`%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?`],

  // Dates and times
  ['MONTH', String.raw`\bJan(?:uary|uar)?|Feb(?:ruary|ruar)?|M(?:a|ä)?r(?:ch|z)?|Apr(?:il)?|Ma(?:y|i)?|Jun(?:e|i)?|Jul(?:y)?|Aug(?:ust)?|Sep(?:tember)?|O(?:c|k)?t(?:ober)?|Nov(?:ember)?|De(?:c|z)(?:ember)?\b`],
  ['MONTHNUM', String.raw`0?[1-9]|1[0-2]`],
  ['MONTHNUM2', String.raw`0[1-9]|1[0-2]`],
  ['MONTHDAY', String.raw`(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9]`],
  ['DAY', String.raw`Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?`],
  ['YEAR', String.raw`(?:\d\d){1,2}`],
  ['HOUR', String.raw`2[0123]|[01]?[0-9]`],
  ['MINUTE', String.raw`[0-5][0-9]`],
  ['SECOND', String.raw`(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?`],
  ['TIME', String.raw`%{HOUR}:%{MINUTE}:%{SECOND}`],
  ['DATE_US', String.raw`%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}`],
  ['DATE_EU', String.raw`%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}`],
  ['DATE_X', String.raw`%{YEAR}/%{MONTHNUM2}/%{MONTHDAY}`],
  ['ISO8601_TIMEZONE', String.raw`Z|[+-]%{HOUR}(?::?%{MINUTE})`],
  ['ISO8601_SECOND', String.raw`%{SECOND}|60`],
  ['TIMESTAMP_ISO8601', String.raw`%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?`],
  ['DATE', String.raw`%{DATE_US}|%{DATE_EU}|%{DATE_X}`],
  ['DATESTAMP', String.raw`%{DATE}[- ]%{TIME}`],
  ['TZ', String.raw`[A-Z]{3}`],
  ['NUMTZ', String.raw`[+-]\d{4}`],
  ['DATESTAMP_RFC822', String.raw`%{DAY} %{MONTH} %{MONTHDAY} %{YEAR} %{TIME} %{TZ}`],
  ['DATESTAMP_RFC2822', String.raw`%{DAY}, %{MONTHDAY} %{MONTH} %{YEAR} %{TIME} %{ISO8601_TIMEZONE}`],
  ['DATESTAMP_OTHER', String.raw`%{DAY} %{MONTH} %{MONTHDAY} %{TIME} %{TZ} %{YEAR}`],
  ['DATESTAMP_EVENTLOG', String.raw`%{YEAR}%{MONTHNUM2}%{MONTHDAY}%{HOUR}%{MINUTE}%{SECOND}`],
  ['HTTPDERROR_DATE', String.raw`%{DAY} %{MONTH} %{MONTHDAY} %{TIME} %{YEAR}`],

  // Go time layouts
  ['ANSIC', String.raw`%{DAY} %{MONTH} [_123]\d %{TIME} %{YEAR}"`],
  ['UNIXDATE', String.raw`%{DAY} %{MONTH} [_123]\d %{TIME} %{TZ} %{YEAR}`],
  ['RUBYDATE', String.raw`%{DAY} %{MONTH} [0-3]\d %{TIME} %{NUMTZ} %{YEAR}`],
  ['RFC822Z', String.raw`[0-3]\d %{MONTH} %{YEAR} %{TIME} %{NUMTZ}`],
  ['RFC850', String.raw`%{DAY}, [0-3]\d-%{MONTH}-%{YEAR} %{TIME} %{TZ}`],
  ['RFC1123', String.raw`%{DAY}, [0-3]\d %{MONTH} %{YEAR} %{TIME} %{TZ}`],
  ['RFC1123Z', String.raw`%{DAY}, [0-3]\d %{MONTH} %{YEAR} %{TIME} %{NUMTZ}`],
  ['RFC3339', String.raw`%{YEAR}-[01]\d-[0-3]\dT%{TIME}%{ISO8601_TIMEZONE}`],
  ['RFC3339NANO', String.raw`%{YEAR}-[01]\d-[0-3]\dT%{TIME}\.\d{9}%{ISO8601_TIMEZONE}`],
  ['KITCHEN', String.raw`\d{1,2}:\d{2}(AM|PM|am|pm)`],

  // Syslog
  ['SYSLOGTIMESTAMP', String.raw`%{MONTH} +%{MONTHDAY} %{TIME}`],
  ['PROG', String.raw`[\x21-\x5a\x5c\x5e-\x7e]+`],
  ['SYSLOGPROG', String.raw`%{PROG:program}(?:\[%{POSINT:pid}\])?`],
  ['SYSLOGHOST', String.raw`%{IPORHOST}`],
  ['SYSLOGFACILITY', String.raw`<%{NONNEGINT:facility}.%{NONNEGINT:priority}>`],
  ['HTTPDATE', String.raw`%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}`],

  // Shortcuts
  ['QS', String.raw`%{QUOTEDSTRING}`],

  // Log levels
  ['LOGLEVEL', String.raw`[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?`],

  // Log formats
  ['SYSLOGBASE', String.raw`%{SYSLOGTIMESTAMP:timestamp} (?:%{SYSLOGFACILITY} )?%{SYSLOGHOST:logsource} %{SYSLOGPROG}:`],
  ['COMMONAPACHELOG', String.raw`%{IPORHOST:clientip} %{HTTPDUSER:ident} %{USER:auth} \[%{HTTPDATE:timestamp}\] "(?:%{WORD:verb} %{NOTSPACE:request}(?: HTTP/%{NUMBER:httpversion})?|%{DATA:rawrequest})" %{NUMBER:response} (?:%{NUMBER:bytes}|-)`],
  ['COMBINEDAPACHELOG', String.raw`%{COMMONAPACHELOG} %{QS:referrer} %{QS:agent}`],
  ['HTTPD20_ERRORLOG', String.raw`\[%{HTTPDERROR_DATE:timestamp}\] \[%{LOGLEVEL:loglevel}\] (?:\[client %{IPORHOST:clientip}\] ){0,1}%{GREEDYDATA:errormsg}`],
  ['HTTPD24_ERRORLOG', String.raw`\[%{HTTPDERROR_DATE:timestamp}\] \[%{WORD:module}:%{LOGLEVEL:loglevel}\] \[pid %{POSINT:pid}(:tid %{NUMBER:tid})?\]( \(%{POSINT:proxy_errorcode}\)%{DATA:proxy_errormessage}:)?( \[client %{IPORHOST:client}:%{INT:clientport}\])? %{DATA:errorcode}: %{GREEDYDATA:message}`],
  ['HTTPD_ERRORLOG', String.raw`%{HTTPD20_ERRORLOG}|%{HTTPD24_ERRORLOG}`],
];
