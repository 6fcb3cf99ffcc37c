import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { createUrlPolicy, UrlRefusedError } from '../../src/locations/url-policy';

const open = createUrlPolicy([]);

async function refusal(policy: ReturnType<typeof createUrlPolicy>, url: string): Promise<string> {
  try {
    await policy.checkOnlineUrl(url);
  } catch (error) {
    expect(error).toBeInstanceOf(UrlRefusedError);
    return (error as Error).message;
  }
  throw new Error(`${url} was accepted`);
}

function lookup(policy: ReturnType<typeof createUrlPolicy>, host: string, all: boolean) {
  return new Promise<{ error: Error | null; addresses: LookupAddress[] | string }>((resolve) => {
    policy.lookup(host, { all }, (error, addresses) => resolve({ error, addresses }));
  });
}

describe('url policy', () => {
  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://169.254.1.1:8080/',
    'http://2852039166/',
    'http://0xa9.0xfe.0xa9.0xfe/',
    'http://[::ffff:169.254.169.254]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[fe80::1]/',
    'http://[fd00:ec2::254]/',
    'http://100.100.100.200/',
    'http://0.0.0.0:3000/',
    'http://0.1.2.3/',
    'http://[::]/',
    'http://224.0.0.1/',
  ])('always refuses the link-local, metadata or reserved address in %s', async (url) => {
    expect(await refusal(open, url)).toMatch(/link-local, metadata or reserved address: Sinkron never connects to it\.$/);
  });

  it.each([
    ['IPv4-compatible', 'http://[::a9fe:a9fe]/'],
    ['IPv4-compatible, dotted', 'http://[::169.254.169.254]/'],
    ['6to4', 'http://[2002:a9fe:a9fe::]/'],
    ['6to4 with an interface id', 'http://[2002:a9fe:a9fe:1::1]/'],
    ['IPv4-translated', 'http://[::ffff:0:a9fe:a9fe]/'],
    ['NAT64, dotted', 'http://[64:ff9b::169.254.169.254]/'],
    ['NAT64 of the 100.100.100.200 metadata', 'http://[64:ff9b::6464:64c8]/'],
    ['6to4 of 0.0.0.0/8', 'http://[2002:0001:0203::]/'],
    ['the discard prefix 100::/64', 'http://[100::1]/'],
    ['192.0.0.192 (IETF protocol assignments)', 'http://192.0.0.192/'],
    ['192.0.0.0/24 in 6to4', 'http://[2002:c000:00c0::]/'],
  ])('refuses the IPv6 spelling of a refused address: %s (%s)', async (_form, url) => {
    expect(await refusal(open, url)).toMatch(/link-local, metadata or reserved address: Sinkron never connects to it\.$/);
  });

  it('checks the IPv4 inside an IPv6 form against the allow-list too, and keeps ::1 loopback', async () => {
    const policy = createUrlPolicy(['10.0.0.0/8']);
    expect(await refusal(policy, 'http://[2002:c0a8:0101::]/')).toMatch(/is not in REMOTE_ALLOWED_HOSTS/);
    await expect(policy.checkOnlineUrl('http://[2002:0a00:0001::]/')).resolves.toBeUndefined();
    await expect(open.checkOnlineUrl('http://[::1]:8443/')).resolves.toBeUndefined();
  });

  it('lets credentials travel over https, or plain http only to loopback or listed hosts (M4)', () => {
    const listed = createUrlPolicy(['sync.internal', '10.20.0.0/16']);
    for (const url of ['https://prod.example.com/', 'http://127.0.0.1:8000/', 'http://localhost:3000', 'http://[::1]:8080/']) {
      expect(open.allowsCredentials(url), url).toBe(true);
    }
    for (const url of ['http://prod.example.com/', 'http://10.20.1.2/', 'http://[2002:7f00:1::]/'])
      expect(open.allowsCredentials(url), url).toBe(false);
    expect(listed.allowsCredentials('http://sync.internal/')).toBe(true);
    expect(listed.allowsCredentials('http://10.20.1.2/')).toBe(true);
    expect(listed.allowsCredentials('http://10.21.1.2/')).toBe(false);
    expect(listed.allowsCredentials('http://other.internal/')).toBe(false);
  });

  it('refuses metadata addresses even when the allow-list names their range', async () => {
    const policy = createUrlPolicy(['169.254.0.0/16', '0.0.0.0/0']);
    expect(await refusal(policy, 'http://169.254.169.254/')).toMatch(/never connects/);
  });

  it.each(['file:///etc/passwd', 'data:text/plain,hello', 'javascript:alert(1)', 'ftp://files.example.com/', 'gopher://x.example/'])(
    'refuses the scheme of %s',
    async (url) => {
      expect(await refusal(open, url)).toMatch(/^Only http:\/\/ and https:\/\/ URLs are allowed/);
    },
  );

  it('refuses credentials in the URL and text that is no URL', async () => {
    expect(await refusal(open, 'https://admin:secret@dev.example.com/')).toMatch(/no user name or password in the URL/);
    expect(await refusal(open, 'dev.example.com')).toMatch(/absolute http/);
  });

  it.each([
    'http://127.0.0.1:8000',
    'http://localhost:3000/',
    'http://10.1.2.3',
    'http://172.16.0.1',
    'http://192.168.1.5/app',
    'https://[::1]:8443',
  ])('allows loopback and private %s by default', async (url) => {
    await expect(open.checkOnlineUrl(url)).resolves.toBeUndefined();
  });

  describe('with REMOTE_ALLOWED_HOSTS', () => {
    const names = createUrlPolicy(['sync.example.com', '*.corp.example', 'Legacy.Example.org.']);

    it('allows the listed names and the subdomains of a wildcard only', () => {
      expect(names.checkUrlSync('https://sync.example.com/').hostname).toBe('sync.example.com');
      expect(names.checkUrlSync('https://SYNC.example.com./').hostname).toMatch(/^sync\.example\.com\.?$/);
      expect(names.checkUrlSync('https://a.b.corp.example/').hostname).toBe('a.b.corp.example');
      expect(names.checkUrlSync('https://legacy.example.org/').hostname).toBe('legacy.example.org');
      for (const url of ['https://corp.example/', 'https://evilcorp.example/', 'https://other.example.com/', 'http://127.0.0.1/']) {
        expect(() => names.checkUrlSync(url), url).toThrow(/is not in REMOTE_ALLOWED_HOSTS/);
      }
    });

    it('allows literal addresses inside a listed range and refuses the others', async () => {
      const ranges = createUrlPolicy(['10.0.0.0/8', '192.168.1.7', 'fd12::/16']);
      await expect(ranges.checkOnlineUrl('http://10.20.30.40:8080/')).resolves.toBeUndefined();
      await expect(ranges.checkOnlineUrl('http://192.168.1.7/')).resolves.toBeUndefined();
      await expect(ranges.checkOnlineUrl('http://[fd12::5]/')).resolves.toBeUndefined();
      await expect(ranges.checkOnlineUrl('http://[::ffff:10.0.0.1]/')).resolves.toBeUndefined();
      expect(await refusal(ranges, 'http://192.168.1.8/')).toBe('192.168.1.8 is not in REMOTE_ALLOWED_HOSTS.');
      expect(await refusal(ranges, 'http://127.0.0.1/')).toBe('127.0.0.1 is not in REMOTE_ALLOWED_HOSTS.');
    });

    it('checks the address a name resolves to when connecting, in both lookup forms', async () => {
      const ranges = createUrlPolicy(['10.0.0.0/8']);
      for (const all of [true, false]) {
        const refused = await lookup(ranges, 'localhost', all);
        expect(refused.error).toBeInstanceOf(UrlRefusedError);
        expect(refused.error?.message).toMatch(/^localhost \((127\.0\.0\.1|::1)\) is not in REMOTE_ALLOWED_HOSTS\.$/);
      }
      const loopback = createUrlPolicy(['127.0.0.0/8', '::1']);
      const many = await lookup(loopback, 'localhost', true);
      expect(many.error).toBeNull();
      expect(Array.isArray(many.addresses) && many.addresses.length).toBeGreaterThan(0);
      const one = await lookup(loopback, 'localhost', false);
      expect(one.error).toBeNull();
      expect(one.addresses).toMatch(/^(127\.0\.0\.1|::1)$/);
      const byName = await lookup(createUrlPolicy(['localhost']), 'localhost', true);
      expect(byName.error).toBeNull();
    });
  });
});
