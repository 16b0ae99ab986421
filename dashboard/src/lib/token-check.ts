/**
 * What the sign-in form says about a pasted token before sending it. Tokens travel as
 * `Authorization: Bearer <token>` and as the ws subprotocol `bearer.<token>`, so the admin API allows
 * only `A-Z a-z 0-9 - . _ ~` in them (admin-api/src/auth.ts); a token with anything else cannot be
 * sent by a browser (or could never match), and fetch would fail with an unhelpful TypeError.
 */

const TOKEN_CHARS = /^[A-Za-z0-9._~-]+$/;

export type TokenCheck = { ok: true; token: string } | { ok: false; message: string };

/** The token to send (surrounding spaces and line breaks from a paste removed), or why there is none. */
export function checkToken(input: string): TokenCheck {
  const token = input.trim();
  if (token === '') return { ok: false, message: 'Paste a viewer or operator token (the demo prints them; operators set them with HIGHLANDER_API_TOKENS).' };
  if (TOKEN_CHARS.test(token)) return { ok: true, token };
  const bad = [...token].find((c) => !TOKEN_CHARS.test(c))!;
  const shown = /\s/.test(bad) ? 'a space or line break' : `“${bad}”`;
  return {
    ok: false,
    message: `That is not a token this dashboard can send: it contains ${shown}. Tokens use only A-Z a-z 0-9 - . _ ~ — copy it again without the surrounding text.`,
  };
}
