import { InvalidNodeName, InvalidObjectId, InvalidTypeName } from './errors.js';

/**
 * Validation of the names that end up in ZooKeeper paths and S3 keys. Everything is checked
 * here, before any I/O, so a bad name never reaches ZooKeeper or S3.
 */

export const MAX_OBJECT_ID_LENGTH = 200;
export const MAX_TYPE_NAME_LENGTH = 64;
export const MAX_NODE_NAME_LENGTH = 64;

const OBJECT_ID = /^[A-Za-z0-9._:@-]+$/;
const TYPE_NAME = /^[a-z][a-z0-9-]*$/;
const NODE_NAME = /^[A-Za-z0-9_-]+$/;

export function validateObjectId(id: unknown): string {
  if (typeof id !== 'string') throw new InvalidObjectId(id, 'an object id must be a string');
  if (id.length === 0) throw new InvalidObjectId(id, 'an object id must not be empty');
  if (id.length > MAX_OBJECT_ID_LENGTH) throw new InvalidObjectId(id, `an object id is at most ${MAX_OBJECT_ID_LENGTH} characters (got ${id.length})`);
  if (id === '.' || id === '..') throw new InvalidObjectId(id, "'.' and '..' are reserved");
  if (!OBJECT_ID.test(id)) throw new InvalidObjectId(id, 'allowed characters are A-Z a-z 0-9 . _ : @ -');
  return id;
}

export function validateTypeName(type: unknown): string {
  if (typeof type !== 'string') throw new InvalidTypeName(type, 'a type name must be a string');
  if (type.length === 0) throw new InvalidTypeName(type, 'a type name must not be empty');
  if (type.length > MAX_TYPE_NAME_LENGTH) throw new InvalidTypeName(type, `a type name is at most ${MAX_TYPE_NAME_LENGTH} characters`);
  if (!TYPE_NAME.test(type)) throw new InvalidTypeName(type, 'a type name starts with a-z and has only a-z 0-9 -');
  return type;
}

export function validateNodeName(name: unknown): string {
  if (typeof name !== 'string') throw new InvalidNodeName(name, 'a node name must be a string');
  if (name.length === 0) throw new InvalidNodeName(name, 'a node name must not be empty');
  if (name.length > MAX_NODE_NAME_LENGTH) throw new InvalidNodeName(name, `a node name is at most ${MAX_NODE_NAME_LENGTH} characters`);
  if (!NODE_NAME.test(name)) throw new InvalidNodeName(name, 'allowed characters are A-Z a-z 0-9 _ -');
  return name;
}

/** The key of an object everywhere in the runtime: `<type>/<id>`. */
export function objectKey(type: string, id: string): string {
  return `${type}/${id}`;
}
