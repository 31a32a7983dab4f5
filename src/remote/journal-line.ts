// One rule for a journal line that may reach a message or a plan: the facts script's fatal lines and
// readJournal's tails alike (apart from journal.ts so the facts parser can use it without an import cycle).

/** Longest line kept (etcd's JSON log lines are a few hundred characters). */
const MAX_LINE = 1000;

/** Removes terminal escapes and control characters (tabs become spaces) and caps the line's length. */
export function cleanJournalLine(line: string): string {
  const clean = line
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\t/g, ' ')
    .replace(/[\x00-\x1f\x7f-\x9f]/g, '')
    .trimEnd();
  return clean.length > MAX_LINE ? `${clean.slice(0, MAX_LINE)}…` : clean;
}
