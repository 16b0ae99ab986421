import type { Principal, Role } from '@highlander/admin-api/protocol';

const TOKEN_KEY = 'highlander.token';

/**
 * Who is signed in: the bearer token (kept in localStorage), and what the API said about it in the
 * stream's `hello` (name, role, read-only mode). A `?token=` in the URL signs in once and is removed
 * from the address bar, so a link printed by the demo opens the dashboard directly.
 */
class Session {
  token = $state<string | null>(null);
  name = $state<string | null>(null);
  role = $state<Role | null>(null);
  readOnly = $state(false);

  /** Operators may act unless the API is read-only; viewers never see action controls. */
  get canAct(): boolean {
    return this.role === 'operator' && !this.readOnly;
  }

  constructor() {
    const url = new URL(location.href);
    const fromUrl = url.searchParams.get('token');
    if (fromUrl) {
      url.searchParams.delete('token');
      history.replaceState(history.state, '', url);
      this.signIn(fromUrl);
    } else {
      this.token = localStorage.getItem(TOKEN_KEY);
    }
  }

  signIn(token: string): void {
    this.token = token.trim();
    localStorage.setItem(TOKEN_KEY, this.token);
  }

  signOut(): void {
    this.token = null;
    this.name = null;
    this.role = null;
    localStorage.removeItem(TOKEN_KEY);
  }

  identify(who: Principal, readOnly: boolean): void {
    this.name = who.name;
    this.role = who.role;
    this.readOnly = readOnly;
  }
}

export const session = new Session();
