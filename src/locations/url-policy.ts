import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** An online URL or address Sinkron refuses to reach; the message is for the admin. */
export class UrlRefusedError extends Error {
  readonly code = 'ERR_URL_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'UrlRefusedError';
  }
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

// Never reachable, whatever the allow-list says: link-local (where cloud metadata lives), "this network",
// the unspecified address, multicast, the metadata addresses that sit outside link-local, the IETF
// protocol assignments (192.0.0.192 is a cloud's metadata) and IPv6's discard prefix.
const ALWAYS_REFUSED: Array<[Address, number]> = [
  '0.0.0.0/8',
  '169.254.0.0/16',
  '100.100.100.200/32',
  '192.0.0.0/24',
  '100::/64',
  '224.0.0.0/4',
  '255.255.255.255/32',
  '::/128',
  'fe80::/10',
  'fd00:ec2::254/128',
  'ff00::/8',
].map((cidr) => ipaddr.parseCIDR(cidr));

const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');

/** The IPv4 address in the last 32 bits of an IPv6 one. */
const lastFour = (v6: ipaddr.IPv6) => ipaddr.fromByteArray(v6.toByteArray().slice(12)) as ipaddr.IPv4;

/**
 * The IPv4 address an IPv6 one embeds, so every spelling meets the IPv4 rules: mapped (::ffff:a.b.c.d),
 * translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4
 * (2002:aabb:ccdd::). `::` and `::1` stay IPv6 (unspecified and loopback).
 */
function unwrap(address: Address): Address {
  if (address.kind() !== 'ipv6') return address;
  const v6 = address as ipaddr.IPv6;
  const parts = v6.parts;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  if (v6.match(NAT64)) return lastFour(v6);
  if (parts.slice(0, 4).every((p) => p === 0) && parts[4] === 0xffff && parts[5] === 0) return lastFour(v6);
  if (parts.slice(0, 6).every((p) => p === 0) && parts[6]! !== 0) return lastFour(v6);
  if (parts[0] === 0x2002) return ipaddr.fromByteArray(v6.toByteArray().slice(2, 6)) as ipaddr.IPv4;
  return address;
}

/** For allow-list ranges: only the /96 forms, whose prefix length maps onto the IPv4 one. */
function unwrapRange(range: Address): Address {
  const v6 = range as ipaddr.IPv6;
  return range.kind() === 'ipv6' && (v6.isIPv4MappedAddress() || v6.match(NAT64)) ? unwrap(range) : range;
}

function parseAddress(text: string): Address | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!ipaddr.isValid(bare)) return undefined;
  return unwrap(ipaddr.parse(bare.split('%')[0]!));
}

const inRange = (address: Address, [range, bits]: [Address, number]) => address.kind() === range.kind() && address.match(range, bits);

type AllowEntry = { kind: 'host'; name: string } | { kind: 'suffix'; suffix: string } | { kind: 'cidr'; range: [Address, number] };

const normaliseHost = (host: string) => host.trim().toLowerCase().replace(/\.$/, '');

function parseAllowEntry(entry: string): AllowEntry {
  const text = normaliseHost(entry);
  if (text.includes('/') && ipaddr.isValidCIDR(text)) {
    const [range, bits] = ipaddr.parseCIDR(text);
    const inner = unwrapRange(range);
    return { kind: 'cidr', range: [inner, range.kind() === 'ipv6' && inner.kind() === 'ipv4' ? bits - 96 : bits] };
  }
  const address = parseAddress(text);
  if (address) return { kind: 'cidr', range: [address, address.kind() === 'ipv4' ? 32 : 128] };
  if (text.startsWith('*.')) return { kind: 'suffix', suffix: text.slice(1) };
  return { kind: 'host', name: text };
}

export interface UrlPolicy {
  /** Syntax, scheme, credentials, literal addresses and the allow-list; resolves names to check them too. */
  checkOnlineUrl(url: string): Promise<void>;
  /** The checks that need no DNS, made before every request. */
  checkUrlSync(url: string): URL;
  /** A `lookup` for http(s) agents: the address actually connected to is checked after DNS. */
  lookup: LookupFunction;
  /**
   * Whether credentials may travel to this URL: https always; plain http only to a loopback address,
   * `localhost`, or a host REMOTE_ALLOWED_HOSTS lists by name or by address.
   */
  allowsCredentials(url: string): boolean;
}

/**
 * The SSRF rules for online URLs. Loopback and private ranges are allowed by default (real deployments and
 * the demo use them); with REMOTE_ALLOWED_HOSTS set, only the listed names, wildcards and ranges are.
 */
export function createUrlPolicy(allowedHosts: string[]): UrlPolicy {
  const allowList = allowedHosts.map(parseAllowEntry);
  const restricted = allowList.length > 0;

  const nameAllowed = (host: string) =>
    allowList.some(
      (entry) =>
        (entry.kind === 'host' && entry.name === host) ||
        (entry.kind === 'suffix' && host.endsWith(entry.suffix) && host.length > entry.suffix.length),
    );
  const addressAllowed = (address: Address) => allowList.some((entry) => entry.kind === 'cidr' && inRange(address, entry.range));

  function checkAddress(host: string, address: Address): void {
    if (ALWAYS_REFUSED.some((range) => inRange(address, range))) {
      const shown = address.toString();
      throw new UrlRefusedError(
        host === shown
          ? `${shown} is a link-local, metadata or reserved address: Sinkron never connects to it.`
          : `${host} resolves to ${shown}, a link-local, metadata or reserved address: Sinkron never connects to it.`,
      );
    }
    if (restricted && !nameAllowed(host) && !addressAllowed(address)) {
      const shown = address.toString();
      throw new UrlRefusedError(`${host}${host === shown ? '' : ` (${shown})`} is not in REMOTE_ALLOWED_HOSTS.`);
    }
  }

  function checkUrlSync(text: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new UrlRefusedError('Enter an absolute http:// or https:// URL.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UrlRefusedError(`Only http:// and https:// URLs are allowed, not ${url.protocol}`);
    }
    if (url.username || url.password) {
      throw new UrlRefusedError('Put no user name or password in the URL: set EXTERNAL_API_<CODE>_EMAIL / _PASSWORD instead.');
    }
    const host = normaliseHost(url.hostname);
    if (host === '') throw new UrlRefusedError('The URL has no host.');
    const literal = parseAddress(host);
    if (literal) checkAddress(host.replace(/^\[|\]$/g, ''), literal);
    else if (restricted && !nameAllowed(host) && !allowList.some((entry) => entry.kind === 'cidr')) {
      throw new UrlRefusedError(`${host} is not in REMOTE_ALLOWED_HOSTS.`);
    }
    return url;
  }

  async function checkOnlineUrl(text: string): Promise<void> {
    const url = checkUrlSync(text);
    const host = normaliseHost(url.hostname);
    if (parseAddress(host)) return;
    let resolved: dns.LookupAddress[];
    try {
      resolved = await dns.promises.lookup(host, { all: true });
    } catch {
      // A name that does not resolve from here yet may later; every request checks again after DNS.
      return;
    }
    for (const { address } of resolved) checkAddress(host, parseAddress(address)!);
  }

  const lookup: LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, options.all ? [] : '', 4);
      try {
        const host = normaliseHost(hostname);
        for (const { address } of addresses) checkAddress(host, parseAddress(address)!);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, options.all ? [] : '', 4);
      }
      if (options.all) return (callback as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };

  function allowsCredentials(text: string): boolean {
    const url = new URL(text);
    if (url.protocol === 'https:') return true;
    if (url.protocol !== 'http:') return false;
    const host = normaliseHost(url.hostname);
    if (host === 'localhost') return true;
    const literal = parseAddress(host);
    if (!literal) return restricted && nameAllowed(host);
    // Loopback as written (or IPv4-mapped), not via an embedding such as 6to4 that routes elsewhere.
    const loopback = ipaddr.process(host.replace(/^\[|\]$/g, '').split('%')[0]!).range() === 'loopback';
    return loopback || (restricted && addressAllowed(literal));
  }

  return { checkOnlineUrl, checkUrlSync, lookup, allowsCredentials };
}
