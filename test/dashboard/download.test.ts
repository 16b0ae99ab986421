import { describe, expect, it } from 'vitest';
import { exportFilename, filenameFromDisposition } from '../../dashboard/src/lib/download.ts';

describe('download file names', () => {
  it('takes the server’s file name, the UTF-8 form first', () => {
    expect(filenameFromDisposition('attachment; filename="talk-ABCDE.csv"', 'x')).toBe('talk-ABCDE.csv');
    expect(filenameFromDisposition('attachment; filename=talk.json', 'x')).toBe('talk.json');
    expect(filenameFromDisposition(`attachment; filename="talk.csv"; filename*=UTF-8''talk-%F0%9F%8E%89.csv`, 'x')).toBe('talk-🎉.csv');
  });

  it('never a path, never empty', () => {
    expect(filenameFromDisposition('attachment; filename="../../etc/passwd"', 'x')).toBe('passwd');
    expect(filenameFromDisposition('attachment; filename=""', 'fallback.csv')).toBe('fallback.csv');
    expect(filenameFromDisposition('attachment', 'fallback.csv')).toBe('fallback.csv');
    expect(filenameFromDisposition(null, 'fallback.csv')).toBe('fallback.csv');
  });

  it('names an export for its talk and moment', () => {
    expect(exportFilename('ABCDE', 'csv', new Date('2024-05-01T10:30:12Z'))).toBe('talk-ABCDE-2024-05-01T10-30.csv');
  });
});
