// Compile-time checks of the typed API: `tsc` (part of the test command) fails if any of these regress.
import { List, Todo, User } from '@highlander/example-todo';
import type { Ref } from '@highlander/runtime';
declare const list: Ref<typeof List>;
declare const todo: Ref<typeof Todo>;
const n: Promise<number> = list.call('insertTodo', { todo: { id: '1', title: 'x', completed: false }, userId: 'u' });
const s: Promise<number> = list.call('size');
const s2: Promise<number> = list.call('size', { timeoutMs: 5 });
const t: Promise<{ title: string; completed: boolean; color: string }> = todo.get();
const r: Promise<undefined> = todo.call('rename', 'hi');
// @ts-expect-error wrong arg type
list.call('insertTodo', { todo: 1 });
// @ts-expect-error unknown handler
list.call('nope');
try {} catch (e) { if (List.isError(e, 'notAllowed')) { const u: string = e.data.userId; } }
// @ts-expect-error undeclared error name
List.isError(new Error(), 'other');
