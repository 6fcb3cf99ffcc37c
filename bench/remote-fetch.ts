/** Plain loopback fetching for the floor and the per-row baseline: no retries, no validation. */

export async function loginToRemote(baseUrl: string, credentials: { email: string; password: string }): Promise<string> {
  const response = await fetch(new URL('/api/auth/login', baseUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(credentials),
  });
  if (!response.ok) throw new Error(`remote login failed: ${response.status}`);
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}

export async function fetchPage(baseUrl: string, token: string, page: number, perPage: number): Promise<ArrayBuffer> {
  const url = new URL('/api/users', baseUrl);
  url.searchParams.set('page', String(page));
  url.searchParams.set('per_page', String(perPage));
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
  if (!response.ok) throw new Error(`remote page ${page} failed: ${response.status}`);
  return response.arrayBuffer();
}

/** Pages 1..pages with at most `concurrency` requests in flight; returns the bytes read. */
export async function fetchPagesRaw(
  baseUrl: string,
  token: string,
  options: { pages: number; perPage: number; concurrency: number },
): Promise<number> {
  let next = 1;
  let bytes = 0;
  const lane = async () => {
    while (next <= options.pages) {
      const page = next++;
      bytes += (await fetchPage(baseUrl, token, page, options.perPage)).byteLength;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, lane));
  return bytes;
}
