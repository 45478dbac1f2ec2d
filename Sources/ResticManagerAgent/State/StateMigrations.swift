import Foundation
import GRDB
import ResticManagerProtocol

/// The agent's local schema. Migrations are named by string, never change
/// once released, and run before anyone sees the database.
enum StateMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Single-row tables carry `id = 1`.
            try db.execute(
                sql: """
                    CREATE TABLE credential (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        server_url TEXT NOT NULL,
                        agent_token TEXT NOT NULL,
                        host_id TEXT NOT NULL,
                        enrolled_at DATETIME NOT NULL
                    );
                    CREATE TABLE repo_config (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        repo_url TEXT NOT NULL DEFAULT '',
                        repo_password TEXT NOT NULL DEFAULT '',
                        repo_username TEXT NOT NULL DEFAULT '',
                        repo_credential TEXT NOT NULL DEFAULT '',
                        hook_shell TEXT NOT NULL DEFAULT '',
                        updated_at DATETIME
                    );
                    CREATE TABLE schedule_set (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        version INTEGER NOT NULL,
                        applied_at DATETIME NOT NULL
                    );
                    CREATE TABLE schedules (
                        id TEXT PRIMARY KEY,
                        position INTEGER NOT NULL,
                        definition TEXT NOT NULL
                    );
                    CREATE TABLE jobs (
                        id TEXT PRIMARY KEY,
                        kind TEXT NOT NULL,
                        trigger TEXT NOT NULL,
                        schedule_id TEXT,
                        args TEXT NOT NULL DEFAULT '[]',
                        schedule TEXT,
                        status TEXT NOT NULL,
                        queued_at DATETIME NOT NULL,
                        started_at DATETIME,
                        finished_at DATETIME,
                        exit_code INTEGER,
                        error TEXT,
                        next_log_seq INTEGER NOT NULL DEFAULT 1
                    );
                    CREATE INDEX jobs_status ON jobs(status);
                    CREATE TABLE outbox (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        type TEXT NOT NULL,
                        payload TEXT NOT NULL,
                        job_id TEXT,
                        created_at DATETIME NOT NULL
                    );
                    CREATE TABLE agent_meta (
                        key TEXT PRIMARY KEY,
                        value TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2-outbox-frames") { db in
            // Rows used to hold the payload alone, and the envelope was
            // spliced around it at send time. Now a row holds the whole
            // frame as the envelope codec wrote it. Old rows get the very
            // frame the old code would have sent (this formula is frozen
            // here; `ts` is the row's `created_at`), so an upgraded agent
            // replays them unchanged. A new table rather than RENAME COLUMN,
            // which SQLite before 3.25 does not have.
            try db.execute(
                sql: """
                    CREATE TABLE outbox_frames (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        type TEXT NOT NULL,
                        frame TEXT NOT NULL,
                        job_id TEXT,
                        created_at DATETIME NOT NULL
                    )
                    """)
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM outbox ORDER BY seq")
            while let row = try rows.next() {
                let type: String = row["type"]
                let id: String = row["id"]
                let payload: String = row["payload"]
                let createdAt: Date = row["created_at"]
                let frame =
                    "{\"type\":\"\(type)\",\"id\":\"\(id)\",\"ts\":\"\(RFC3339.format(createdAt))\",\"payload\":\(payload)}"
                try db.execute(
                    sql: "INSERT INTO outbox_frames (seq, id, type, frame, job_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [row["seq"], id, type, frame, row["job_id"], createdAt])
            }
            try db.execute(sql: "DROP TABLE outbox")
            try db.execute(sql: "ALTER TABLE outbox_frames RENAME TO outbox")
        }
        migrator.registerMigration("v3-restore-jobs") { db in
            // A restore's request, and for a cross-host restore where the
            // source repository is (its secrets are kept in memory only).
            try db.execute(
                sql: """
                    ALTER TABLE jobs ADD COLUMN restore TEXT;
                    ALTER TABLE jobs ADD COLUMN source TEXT;
                    """)
        }
        return migrator
    }
}
