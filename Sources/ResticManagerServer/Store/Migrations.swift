import GRDB

/// The schema, as an ordered list of named migrations embedded in the binary.
///
/// Released migrations are never edited: a change to the schema is a new
/// migration appended to the list, so every existing data dir upgrades the
/// same way.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-initial-schema") { db in
            try db.execute(sql: initialSchema)
        }
        return migrator
    }

    private static let initialSchema = """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at DATETIME NOT NULL,
            last_login_at DATETIME
        );

        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_hash TEXT NOT NULL UNIQUE,
            created_at DATETIME NOT NULL,
            expires_at DATETIME NOT NULL,
            last_seen_at DATETIME NOT NULL,
            user_agent TEXT NOT NULL DEFAULT '',
            ip TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX sessions_user ON sessions(user_id);

        CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at DATETIME NOT NULL,
            last_used_at DATETIME,
            expires_at DATETIME
        );
        CREATE INDEX api_tokens_user ON api_tokens(user_id);

        CREATE TABLE hosts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            hostname TEXT NOT NULL,
            os TEXT NOT NULL DEFAULT '',
            arch TEXT NOT NULL DEFAULT '',
            agent_version TEXT NOT NULL DEFAULT '',
            restic_version TEXT NOT NULL DEFAULT '',
            agent_token_hash TEXT NOT NULL UNIQUE,
            enrolled_at DATETIME NOT NULL,
            last_seen_at DATETIME,
            connected INTEGER NOT NULL DEFAULT 0,
            boot_time DATETIME,
            timezone TEXT,
            notes TEXT NOT NULL DEFAULT '',
            revoked_at DATETIME
        );

        CREATE TABLE enrollment_tokens (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            note TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL,
            created_at DATETIME NOT NULL,
            expires_at DATETIME NOT NULL,
            used_at DATETIME,
            used_by_host_id TEXT REFERENCES hosts(id) ON DELETE SET NULL,
            replace_host_id TEXT REFERENCES hosts(id) ON DELETE SET NULL
        );

        CREATE TABLE host_config (
            host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
            repo_url TEXT NOT NULL DEFAULT '',
            repo_username TEXT NOT NULL DEFAULT '',
            repo_password_enc BLOB,
            repo_credential_enc BLOB,
            hook_shell TEXT NOT NULL DEFAULT '',
            updated_at DATETIME NOT NULL
        );

        CREATE TABLE schedules (
            id TEXT PRIMARY KEY,
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            cron_expr TEXT NOT NULL,
            paths TEXT NOT NULL DEFAULT '[]',
            excludes TEXT NOT NULL DEFAULT '[]',
            tags TEXT NOT NULL DEFAULT '[]',
            retention_policy TEXT,
            options TEXT,
            pre_hook TEXT NOT NULL DEFAULT '',
            post_hook TEXT NOT NULL DEFAULT '',
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        );
        CREATE INDEX schedules_host ON schedules(host_id);

        CREATE TABLE host_schedule_version (
            host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
            desired_version INTEGER NOT NULL DEFAULT 0,
            acked_version INTEGER NOT NULL DEFAULT 0,
            acked_at DATETIME
        );

        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            schedule_id TEXT,
            kind TEXT NOT NULL,
            trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule', 'api')),
            args TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
            queued_at DATETIME NOT NULL,
            dispatched_at DATETIME,
            accepted_at DATETIME,
            started_at DATETIME,
            finished_at DATETIME,
            expires_at DATETIME,
            exit_code INTEGER,
            stats TEXT,
            error TEXT,
            progress TEXT,
            requested_by TEXT
        );
        CREATE INDEX jobs_host_status ON jobs(host_id, status);
        CREATE INDEX jobs_status ON jobs(status);

        CREATE TABLE job_logs (
            job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            ts DATETIME NOT NULL,
            stream TEXT NOT NULL,
            payload TEXT NOT NULL,
            PRIMARY KEY (job_id, seq)
        ) WITHOUT ROWID;

        CREATE TABLE snapshots (
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            snapshot_id TEXT NOT NULL,
            time DATETIME NOT NULL,
            hostname TEXT NOT NULL DEFAULT '',
            paths TEXT NOT NULL DEFAULT '[]',
            tags TEXT NOT NULL DEFAULT '[]',
            size_bytes INTEGER NOT NULL DEFAULT 0,
            file_count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (host_id, snapshot_id)
        );

        CREATE TABLE repo_stats (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            reported_at DATETIME NOT NULL,
            size_bytes INTEGER NOT NULL,
            snapshot_count INTEGER NOT NULL,
            dedup_ratio REAL NOT NULL,
            last_check_at DATETIME,
            last_check_status TEXT,
            lock_state TEXT NOT NULL
        );
        CREATE INDEX repo_stats_host ON repo_stats(host_id, id);

        -- Message ids already applied, per host: the at-most-once guarantee of
        -- SPEC §6.4. Pruned after the retention window by the sweeper.
        CREATE TABLE processed_messages (
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            message_id TEXT NOT NULL,
            processed_at DATETIME NOT NULL,
            PRIMARY KEY (host_id, message_id)
        ) WITHOUT ROWID;

        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts DATETIME NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target_type TEXT NOT NULL DEFAULT '',
            target_id TEXT NOT NULL DEFAULT '',
            details TEXT NOT NULL DEFAULT '{}',
            ip TEXT NOT NULL DEFAULT ''
        );

        CREATE TABLE notification_channels (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('webhook', 'email')),
            name TEXT NOT NULL,
            config TEXT NOT NULL DEFAULT '{}',
            secret_enc BLOB,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at DATETIME NOT NULL
        );

        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            host_id TEXT REFERENCES hosts(id) ON DELETE CASCADE,
            rule TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
            message TEXT NOT NULL,
            opened_at DATETIME NOT NULL,
            resolved_at DATETIME
        );
        CREATE INDEX alerts_host_state ON alerts(host_id, state);
        """
}
