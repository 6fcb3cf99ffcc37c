import type { Express } from 'express';
import request from 'supertest';
import { TEST_ADMIN } from './app';

export type Agent = ReturnType<typeof request.agent>;

/** The `_csrf` value of the first form on a page. */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no _csrf field on the page');
  return match[1]!;
}

export async function csrfToken(agent: Agent, path = '/login'): Promise<string> {
  const page = await agent.get(path);
  return csrfFrom(page.text);
}

/** A cookie-keeping client signed in as the test admin. */
export async function signedInAgent(app: Express, credentials = TEST_ADMIN): Promise<Agent> {
  const agent = request.agent(app);
  const token = await csrfToken(agent);
  const response = await agent
    .post('/login')
    .type('form')
    .send({ ...credentials, _csrf: token });
  if (response.status !== 303) throw new Error(`sign-in failed with ${response.status}`);
  return agent;
}

/** Posts a form the way the browser does: with the current page's CSRF token. */
export async function postForm(agent: Agent, path: string, fields: Record<string, string>, tokenFrom = '/admin/users') {
  const token = await csrfToken(agent, tokenFrom);
  return agent
    .post(path)
    .type('form')
    .send({ ...fields, _csrf: token });
}
