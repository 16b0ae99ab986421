import { defineObject } from '@highlander/runtime';

/**
 * The seed's shared todo lists: users, lists shared between users, and todos.
 * `List.insertTodo` refuses a user who is not in `allowedUsers` with the typed error `notAllowed`.
 */

export interface TodoItem {
  id: string;
  title: string;
  completed: boolean;
}

export const Todo = defineObject({
  type: 'todo',
  initial: () => ({ title: '', completed: false, color: 'blue' as string }),
  handlers: {
    rename: (todo, title: string) => ({ ...todo, title }),
    complete: (todo) => ({ ...todo, completed: true }),
  },
});

export const User = defineObject({
  type: 'user',
  initial: () => ({ name: '', email: '', knownLists: [] as string[] }),
  handlers: {
    rememberList(user, listId: string, ctx) {
      if (user.knownLists.includes(listId)) return ctx.reply(user, false);
      return ctx.reply({ ...user, knownLists: [...user.knownLists, listId] }, true);
    },
  },
  queries: {
    lists: (user) => user.knownLists,
  },
});

export const List = defineObject({
  type: 'list',
  initial: () => ({ title: '', todos: [] as TodoItem[], allowedUsers: [] as string[] }),
  errors: {
    notAllowed: (userId: string) => ({ message: `user '${userId}' is not allowed on this list; ask a member to share it`, userId }),
  },
  handlers: {
    share: (list, userId: string) => (list.allowedUsers.includes(userId) ? list : { ...list, allowedUsers: [...list.allowedUsers, userId] }),
    insertTodo(list, arg: { todo: TodoItem; userId: string }, ctx) {
      if (!list.allowedUsers.includes(arg.userId)) ctx.fail.notAllowed(arg.userId);
      return ctx.reply({ ...list, todos: [arg.todo, ...list.todos] }, list.todos.length + 1);
    },
    completeTodo(list, arg: { todoId: string; userId: string }, ctx) {
      if (!list.allowedUsers.includes(arg.userId)) ctx.fail.notAllowed(arg.userId);
      return { ...list, todos: list.todos.map((t) => (t.id === arg.todoId ? { ...t, completed: true } : t)) };
    },
    /** Removes the completed todos; replies how many are left. */
    clearCompleted(list, arg: { userId: string }, ctx) {
      if (!list.allowedUsers.includes(arg.userId)) ctx.fail.notAllowed(arg.userId);
      const todos = list.todos.filter((t) => !t.completed);
      return ctx.reply({ ...list, todos }, todos.length);
    },
  },
  queries: {
    size: (list) => list.todos.length,
    openTodos: (list) => list.todos.filter((t) => !t.completed),
  },
});

export const objects = [Todo, User, List];
