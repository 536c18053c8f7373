package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SchemaVersion is the version of the schema this yima writes and reads.
// Raise it with each change to the statements in migrations.
const SchemaVersion = 2

// Errors Open returns for a database yima cannot use; each message says
// what to do.
var (
	ErrNoSchema    = errors.New("store: the database has no yima schema; create it with `yima migrate-schema --db URL`")
	ErrOldSchema   = errors.New("store: the database's yima schema is older than this yima; raise it with `yima migrate-schema --db URL`")
	ErrNewerSchema = errors.New("store: the database's yima schema was written by a newer yima; run that version (or newer) of yima")
	ErrReadOnly    = errors.New("store: the database is read-only (a standby?); point --db at the primary, e.g. with target_session_attrs=read-write")
	ErrConnect     = errors.New("store: cannot reach the database; check the --db URL (host, port, user, password, database)")
)

// migrations[i] raises the schema from version i to i+1. Each runs in one
// transaction with the version's update.
var migrations = []string{
	// 1: the records, the commit ids that resolve an unknown commit
	// outcome, and a view of the JSON records.
	`CREATE TABLE IF NOT EXISTS yima_records (
	k BYTEA PRIMARY KEY,
	v BYTEA,
	n INT8,
	j BOOL NOT NULL DEFAULT false,
	CHECK ((v IS NULL) <> (n IS NULL))
);
CREATE TABLE IF NOT EXISTS yima_commits (
	id BYTEA PRIMARY KEY,
	aborted BOOL NOT NULL DEFAULT false,
	at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS yima_commits_at ON yima_commits (at);
CREATE OR REPLACE VIEW yima_json AS
	SELECT encode(k, 'escape') AS key, CASE WHEN j THEN convert_from(v, 'UTF8')::JSONB END AS doc
	FROM yima_records WHERE j`,
	// 2: room on each page of the records for their updates. A row
	// updated where it is keeps its index entry (a HOT update); one moved
	// to another page gets a new entry in the primary key's index, and
	// under SERIALIZABLE that insert conflicts with every transaction
	// that read a key on the same index page (docs/cluster.md): a
	// member's record, written by each of their scans, would otherwise
	// make nodes scanning other members beside it run again.
	`ALTER TABLE yima_records SET (fillfactor = 70)`,
}

const versionTable = `CREATE TABLE IF NOT EXISTS yima_schema_version (
	one BOOL PRIMARY KEY DEFAULT true CHECK (one),
	version INT8 NOT NULL,
	written_by TEXT NOT NULL
)`

// Migrate creates the schema in the database at dsn, or raises it to
// SchemaVersion, and returns the versions before and after. It refuses a
// schema newer than this yima's. Several nodes may run it at once: the
// version row is locked while a migration runs.
func Migrate(ctx context.Context, dsn, writtenBy string) (from, to int64, err error) {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	if err := checkWritable(ctx, conn); err != nil {
		return 0, 0, err
	}
	if _, err := conn.Exec(ctx, versionTable); err != nil {
		return 0, 0, fmt.Errorf("store: creating yima_schema_version: %w", err)
	}
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT version FROM yima_schema_version FOR UPDATE`).Scan(&from)
		if errors.Is(err, pgx.ErrNoRows) {
			from = 0
		} else if err != nil {
			return err
		}
		if from > SchemaVersion {
			return fmt.Errorf("%w (the database is at version %d, this yima knows up to %d)", ErrNewerSchema, from, SchemaVersion)
		}
		for v := from; v < SchemaVersion; v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("store: raising the schema to version %d: %w", v+1, err)
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO yima_schema_version (one, version, written_by) VALUES (true, $1, $2)
			ON CONFLICT (one) DO UPDATE SET version = excluded.version, written_by = excluded.written_by`, SchemaVersion, writtenBy)
		return err
	})
	if err != nil {
		return from, from, err
	}
	return from, SchemaVersion, nil
}

// connect opens one connection, turning a bad URL or an unreachable server
// into an error that says which.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: the --db URL is not a PostgreSQL connection string (postgres://user:password@host:port/database?sslmode=...): %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConnect, where(cfg.Config), err)
	}
	return conn, nil
}

// where names a server without its password.
func where(c pgconn.Config) string {
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// checkWritable refuses a server that takes no writes: a hot standby, or a
// database set read-only.
func checkWritable(ctx context.Context, conn *pgx.Conn) error {
	var ro string
	if err := conn.QueryRow(ctx, `SHOW transaction_read_only`).Scan(&ro); err != nil {
		return fmt.Errorf("store: asking whether the database takes writes: %w", err)
	}
	if ro == "on" {
		return ErrReadOnly
	}
	return nil
}

// checkSchema refuses a database whose schema is missing, older or newer
// than this yima's.
func checkSchema(ctx context.Context, conn *pgx.Conn) error {
	var v int64
	err := conn.QueryRow(ctx, `SELECT version FROM yima_schema_version`).Scan(&v)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "42P01", errors.Is(err, pgx.ErrNoRows):
		return ErrNoSchema
	case err != nil:
		return fmt.Errorf("store: reading the schema version: %w", err)
	case v > SchemaVersion:
		return fmt.Errorf("%w (the database is at version %d, this yima knows up to %d)", ErrNewerSchema, v, SchemaVersion)
	case v < SchemaVersion:
		return fmt.Errorf("%w (the database is at version %d, this yima at %d)", ErrOldSchema, v, SchemaVersion)
	}
	return nil
}
