/** Gallery tables. Template vectors are raw little-endian float32; crops are deflated RGB bytes. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pigs (
  id TEXT PRIMARY KEY,
  enrolled_at INTEGER NOT NULL,
  source TEXT NOT NULL,
  last_seen INTEGER
);
CREATE TABLE IF NOT EXISTS templates (
  id INTEGER PRIMARY KEY,
  pig TEXT NOT NULL REFERENCES pigs(id),
  vec BLOB NOT NULL,
  crop BLOB,
  created_at INTEGER NOT NULL,
  source TEXT NOT NULL,
  score REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS templates_pig ON templates(pig);
CREATE TABLE IF NOT EXISTS claims (
  claim_id TEXT PRIMARY KEY,
  pig TEXT,
  photo_sha256 TEXT NOT NULL,
  vec BLOB,
  score REAL NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS claims_pig ON claims(pig);
CREATE INDEX IF NOT EXISTS claims_photo ON claims(photo_sha256);
`;
