import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../src/platform/errors';
import { readId } from '../../src/platform/http/params';
import { validate } from '../../src/platform/http/validate';

const asRequest = (parts: Partial<Pick<Request, 'body' | 'query' | 'params'>>) => parts as Request;
const form = z.object({ code: z.string().min(1, 'Enter a code.'), size: z.coerce.number().int() });

describe('validate (the one way a controller reads its input)', () => {
  it('gives the parsed value of the chosen part of the request', () => {
    expect(validate.body(form)(asRequest({ body: { code: 'DEV', size: '3' } }))).toEqual({ code: 'DEV', size: 3 });
    expect(validate.query(form)(asRequest({ query: { code: 'DEV', size: '4' } }))).toEqual({ code: 'DEV', size: 4 });
  });

  it('refuses a body or query with a 422 ValidationError naming each field once', () => {
    const refuse = () => validate.body(form)(asRequest({ body: { code: '', size: 'many' } }));
    expect(refuse).toThrow(ValidationError);
    try {
      refuse();
    } catch (error) {
      expect(error).toMatchObject({ status: 422, message: 'Check the highlighted fields.' });
      expect(Object.keys((error as ValidationError).fields)).toEqual(['code', 'size']);
      expect((error as ValidationError).fields.code).toBe('Enter a code.');
    }
  });

  it('reads a missing body as empty and lets the caller word the refusal', () => {
    expect(() => validate.body(form, 'Send a code.')(asRequest({}))).toThrow('Send a code.');
  });

  it('refuses a malformed path id with 400', () => {
    expect(readId(asRequest({ params: { id: '42' } }))).toBe(42);
    for (const id of ['0', '1e1', ' 1', '2147483648']) {
      expect(() => readId(asRequest({ params: { id } })), id).toThrow(expect.objectContaining({ status: 400 }));
    }
  });
});
