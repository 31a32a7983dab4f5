/**
 * The UTC time stamp etcd-kit puts in file and directory names (snapshots, moved-aside data dirs,
 * retired CAs): `2026-12-01T10:30:00.123Z` → `20261201T103000Z`. Sorts as text, no characters a shell or a
 * file system minds. Shared by every layer, like errors.ts.
 */
export function utcStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
