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
        migrator.registerMigration("v2-alerts-and-notifications") { db in
            try db.execute(sql: alertsSchema)
            try db.execute(sql: jobOutcomesFromJobs)
        }
        migrator.registerMigration("v3-restore") { db in
            try db.execute(sql: restoreSchema)
        }
        migrator.registerMigration("v4-fleet-summaries") { db in
            try db.execute(sql: fleetSummariesSchema)
            try db.execute(sql: fleetSummariesFromSourceTables)
        }
        migrator.registerMigration("v5-retention") { db in
            try db.execute(sql: retentionSchema)
        }
        migrator.registerMigration("v6-replicas") { db in
            try db.execute(sql: replicasSchema)
        }
        migrator.registerMigration("v7-login-throttle") { db in
            try db.execute(sql: loginThrottleSchema)
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

    /// SPEC §9. The v1 `alerts` and `notification_channels` tables were never
    /// written by any release, so they are replaced rather than altered.
    private static let alertsSchema = """
        DROP TABLE alerts;
        DROP TABLE notification_channels;

        -- Admins' changes to the built-in rules; a rule without a row uses its defaults.
        CREATE TABLE alert_rules (
            rule TEXT PRIMARY KEY,
            enabled INTEGER NOT NULL,
            threshold_minutes REAL,
            repeat_minutes REAL,
            updated_at DATETIME NOT NULL
        );

        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            rule TEXT NOT NULL,
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            -- What the alert is about within the host: a schedule id, `kind:<kind>`, or ''.
            subject TEXT NOT NULL,
            schedule_id TEXT,
            job_id TEXT,
            severity TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
            state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
            message TEXT NOT NULL,
            opened_at DATETIME NOT NULL,
            resolved_at DATETIME,
            acknowledged_at DATETIME,
            acknowledged_by TEXT,
            last_notified_at DATETIME
        );
        CREATE UNIQUE INDEX alerts_one_open ON alerts(rule, host_id, subject) WHERE state = 'open';
        CREATE INDEX alerts_host_state ON alerts(host_id, state);
        CREATE INDEX alerts_state ON alerts(state);

        CREATE TABLE notification_channels (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('webhook', 'email')),
            enabled INTEGER NOT NULL DEFAULT 1,
            events TEXT NOT NULL,
            -- Settings that are not secret, as JSON.
            config TEXT NOT NULL,
            -- The secret settings as one sealed JSON object.
            secrets_enc BLOB,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        );

        -- The durable outbox of notifications: one row per event and target,
        -- written in the transaction of the change that causes it. The id is
        -- the delivery id receivers see on every attempt.
        CREATE TABLE notifications (
            id TEXT PRIMARY KEY,
            target TEXT NOT NULL CHECK (target IN ('channel', 'ping')),
            channel_id TEXT REFERENCES notification_channels(id) ON DELETE CASCADE,
            schedule_id TEXT REFERENCES schedules(id) ON DELETE CASCADE,
            event TEXT NOT NULL,
            alert_id TEXT,
            job_id TEXT,
            -- The alert as JSON when the event happened, or a ping's body.
            payload TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at DATETIME,
            last_error TEXT,
            created_at DATETIME NOT NULL,
            delivered_at DATETIME
        );
        CREATE INDEX notifications_due ON notifications(next_attempt_at) WHERE status = 'pending';
        CREATE INDEX notifications_channel ON notifications(channel_id);

        ALTER TABLE schedules ADD COLUMN ping_url_enc BLOB;
        -- Runs before this time are not expected (creation, enabling, a new cron).
        ALTER TABLE schedules ADD COLUMN runs_expected_since DATETIME;
        UPDATE schedules SET runs_expected_since = created_at;
        ALTER TABLE host_schedule_version ADD COLUMN desired_at DATETIME;
        CREATE INDEX jobs_schedule_started ON jobs(schedule_id, started_at);

        -- The latest succeeded-or-failed job per host and schedule (or kind,
        -- for jobs without a schedule), kept by a trigger so that every path
        -- that ends a job — agent report, refusal, expiry, orphan — updates
        -- it, and rules read one row per subject instead of scanning jobs.
        CREATE TABLE job_outcomes (
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            subject TEXT NOT NULL,
            kind TEXT NOT NULL,
            schedule_id TEXT,
            job_id TEXT NOT NULL,
            status TEXT NOT NULL,
            finished_at DATETIME NOT NULL,
            last_success_at DATETIME,
            PRIMARY KEY (host_id, subject)
        ) WITHOUT ROWID;

        CREATE TRIGGER jobs_outcome AFTER UPDATE OF status ON jobs
        WHEN NEW.status IN ('succeeded', 'failed') AND OLD.status != NEW.status AND NEW.finished_at IS NOT NULL
        BEGIN
            INSERT INTO job_outcomes (host_id, subject, kind, schedule_id, job_id, status, finished_at, last_success_at)
            VALUES (NEW.host_id, COALESCE(NEW.schedule_id, 'kind:' || NEW.kind), NEW.kind, NEW.schedule_id, NEW.id,
                    NEW.status, NEW.finished_at, CASE WHEN NEW.status = 'succeeded' THEN NEW.finished_at END)
            ON CONFLICT (host_id, subject) DO UPDATE SET
                kind = excluded.kind, job_id = excluded.job_id, status = excluded.status,
                finished_at = excluded.finished_at
                WHERE excluded.finished_at >= job_outcomes.finished_at;
            UPDATE job_outcomes SET last_success_at = NEW.finished_at
            WHERE NEW.status = 'succeeded' AND host_id = NEW.host_id
                AND subject = COALESCE(NEW.schedule_id, 'kind:' || NEW.kind)
                AND (last_success_at IS NULL OR last_success_at < NEW.finished_at);
        END;
        """

    /// `job_outcomes` computed from `jobs`: the v2 migration's backfill, and
    /// part of ``AppDatabase/recomputeSummaries(in:)``.
    static let jobOutcomesFromJobs = """
        INSERT INTO job_outcomes (host_id, subject, kind, schedule_id, job_id, status, finished_at)
        SELECT host_id, COALESCE(schedule_id, 'kind:' || kind), kind, schedule_id, id, status, MAX(finished_at)
        FROM jobs WHERE status IN ('succeeded', 'failed') AND finished_at IS NOT NULL
        GROUP BY host_id, COALESCE(schedule_id, 'kind:' || kind);
        UPDATE job_outcomes SET last_success_at = (
            SELECT MAX(finished_at) FROM jobs
            WHERE jobs.host_id = job_outcomes.host_id AND jobs.status = 'succeeded'
                AND COALESCE(jobs.schedule_id, 'kind:' || jobs.kind) = job_outcomes.subject);
        """

    /// What a host allows (its agent's `hello`, SPEC §10.3) and what a
    /// restore job restores (§10.2).
    private static let restoreSchema = """
        ALTER TABLE hosts ADD COLUMN restore_targets TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE hosts ADD COLUMN hooks_allowed INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE jobs ADD COLUMN restore TEXT;
        """

    /// SPEC §12: what the fleet page, the host list and the attention rules
    /// need per host, as columns of the host's own row, so that counting and
    /// ordering 10,000 hosts scans one table instead of searching a million
    /// jobs per host (joining four tables per host measured 4x slower than
    /// one; docs/decisions.md). Triggers keep the columns, like
    /// `job_outcomes`, so that every path that ends a job, opens or resolves
    /// an alert, reports stats, edits a schedule or the config updates them.
    /// Counts are recomputed for the one host a change touches rather than
    /// incremented, so no path can drift them.
    private static let fleetSummariesSchema = """
        -- The newest finished (succeeded, failed or cancelled) backup.
        ALTER TABLE hosts ADD COLUMN last_backup_job_id TEXT;
        ALTER TABLE hosts ADD COLUMN last_backup_status TEXT;
        ALTER TABLE hosts ADD COLUMN last_backup_finished_at DATETIME;
        ALTER TABLE hosts ADD COLUMN last_success_at DATETIME;
        ALTER TABLE hosts ADD COLUMN open_alerts INTEGER NOT NULL DEFAULT 0;
        -- From the newest repo_stats row.
        ALTER TABLE hosts ADD COLUMN repo_size_bytes INTEGER;
        ALTER TABLE hosts ADD COLUMN enabled_schedules INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE hosts ADD COLUMN repo_configured INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE hosts ADD COLUMN schedule_pending INTEGER NOT NULL DEFAULT 0;

        CREATE TRIGGER jobs_host_summary AFTER UPDATE OF status ON jobs
        WHEN NEW.kind = 'backup' AND NEW.status IN ('succeeded', 'failed', 'cancelled') AND OLD.status != NEW.status
            AND NEW.finished_at IS NOT NULL
        BEGIN
            UPDATE hosts SET last_backup_job_id = NEW.id, last_backup_status = NEW.status,
                last_backup_finished_at = NEW.finished_at
            WHERE id = NEW.host_id
                AND (last_backup_finished_at IS NULL OR last_backup_finished_at <= NEW.finished_at);
            UPDATE hosts SET last_success_at = NEW.finished_at
            WHERE NEW.status = 'succeeded' AND id = NEW.host_id
                AND (last_success_at IS NULL OR last_success_at < NEW.finished_at);
        END;

        CREATE TRIGGER alerts_opened_host_summary AFTER INSERT ON alerts
        BEGIN
            UPDATE hosts SET open_alerts = (SELECT COUNT(*) FROM alerts WHERE host_id = NEW.host_id AND state = 'open')
            WHERE id = NEW.host_id;
        END;
        CREATE TRIGGER alerts_changed_host_summary AFTER UPDATE OF state ON alerts
        BEGIN
            UPDATE hosts SET open_alerts = (SELECT COUNT(*) FROM alerts WHERE host_id = NEW.host_id AND state = 'open')
            WHERE id = NEW.host_id;
        END;
        CREATE TRIGGER alerts_deleted_host_summary AFTER DELETE ON alerts
        BEGIN
            UPDATE hosts SET open_alerts = (SELECT COUNT(*) FROM alerts WHERE host_id = OLD.host_id AND state = 'open')
            WHERE id = OLD.host_id;
        END;

        CREATE TRIGGER repo_stats_host_summary AFTER INSERT ON repo_stats
        BEGIN
            UPDATE hosts SET repo_size_bytes = NEW.size_bytes WHERE id = NEW.host_id;
        END;

        CREATE TRIGGER schedules_added_host_summary AFTER INSERT ON schedules
        BEGIN
            UPDATE hosts SET enabled_schedules = (
                SELECT COUNT(*) FROM schedules WHERE host_id = NEW.host_id AND enabled = 1)
            WHERE id = NEW.host_id;
        END;
        CREATE TRIGGER schedules_changed_host_summary AFTER UPDATE OF enabled ON schedules
        BEGIN
            UPDATE hosts SET enabled_schedules = (
                SELECT COUNT(*) FROM schedules WHERE host_id = NEW.host_id AND enabled = 1)
            WHERE id = NEW.host_id;
        END;
        CREATE TRIGGER schedules_deleted_host_summary AFTER DELETE ON schedules
        BEGIN
            UPDATE hosts SET enabled_schedules = (
                SELECT COUNT(*) FROM schedules WHERE host_id = OLD.host_id AND enabled = 1)
            WHERE id = OLD.host_id;
        END;

        CREATE TRIGGER host_config_added_host_summary AFTER INSERT ON host_config
        BEGIN
            UPDATE hosts SET repo_configured = NEW.repo_url != '' WHERE id = NEW.host_id;
        END;
        CREATE TRIGGER host_config_changed_host_summary AFTER UPDATE OF repo_url ON host_config
        BEGIN
            UPDATE hosts SET repo_configured = NEW.repo_url != '' WHERE id = NEW.host_id;
        END;

        CREATE TRIGGER schedule_version_added_host_summary AFTER INSERT ON host_schedule_version
        BEGIN
            UPDATE hosts SET schedule_pending = NEW.acked_version < NEW.desired_version WHERE id = NEW.host_id;
        END;
        CREATE TRIGGER schedule_version_changed_host_summary AFTER UPDATE ON host_schedule_version
        BEGIN
            UPDATE hosts SET schedule_pending = NEW.acked_version < NEW.desired_version WHERE id = NEW.host_id;
        END;
        """

    /// Every host's summary columns computed from the source tables: the
    /// v4 migration's backfill, and part of ``AppDatabase/recomputeSummaries(in:)``.
    static let fleetSummariesFromSourceTables = """
        UPDATE hosts SET
            open_alerts = (SELECT COUNT(*) FROM alerts a WHERE a.host_id = hosts.id AND a.state = 'open'),
            enabled_schedules = (SELECT COUNT(*) FROM schedules s WHERE s.host_id = hosts.id AND s.enabled = 1),
            repo_size_bytes = (SELECT size_bytes FROM repo_stats r WHERE r.host_id = hosts.id ORDER BY r.id DESC LIMIT 1),
            repo_configured = COALESCE((SELECT repo_url != '' FROM host_config c WHERE c.host_id = hosts.id), 0),
            schedule_pending = COALESCE(
                (SELECT acked_version < desired_version FROM host_schedule_version v WHERE v.host_id = hosts.id), 0),
            last_success_at = (SELECT MAX(finished_at) FROM jobs j
                WHERE j.host_id = hosts.id AND j.kind = 'backup' AND j.status = 'succeeded');
        UPDATE hosts SET (last_backup_job_id, last_backup_status, last_backup_finished_at) = (
            SELECT id, status, finished_at FROM jobs j
            WHERE j.host_id = hosts.id AND j.kind = 'backup'
                AND j.status IN ('succeeded', 'failed', 'cancelled') AND j.finished_at IS NOT NULL
            ORDER BY j.finished_at DESC LIMIT 1);
        """

    /// What the retention sweep (`AppDatabase+Retention`) reads, so that each
    /// batch is index seeks rather than a scan of a million jobs: jobs in
    /// the order they age out, and the newest finished and successful job of
    /// a host's kind; `repo_stats` in the order it ages out.
    private static let retentionSchema = """
        CREATE INDEX jobs_finished ON jobs(finished_at);
        CREATE INDEX jobs_host_kind_finished ON jobs(host_id, kind, status, finished_at);
        CREATE INDEX repo_stats_reported ON repo_stats(reported_at);
        """

    /// What several replicas on one database need (SPEC §12), kept on SQLite
    /// too so that both engines run the same code: the key seal, leases on
    /// once-per-fleet work and on connected hosts, and claims on
    /// notifications being sent.
    private static let replicasSchema = """
        CREATE TABLE store_seal (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            sealed BLOB NOT NULL,
            sealed_at DATETIME NOT NULL
        );
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_at DATETIME NOT NULL
        );
        CREATE TABLE host_leases (
            host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
            replica TEXT NOT NULL,
            expires_at DATETIME NOT NULL
        );
        CREATE INDEX host_leases_replica ON host_leases(replica);
        CREATE INDEX host_leases_expiry ON host_leases(expires_at);
        ALTER TABLE notifications ADD COLUMN claimed_until DATETIME;
        """

    private static let loginThrottleSchema = """
        CREATE TABLE login_failures (
            username TEXT NOT NULL,
            ip TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failed_at DATETIME NOT NULL,
            PRIMARY KEY (username, ip)
        );
        CREATE INDEX login_failures_last ON login_failures(last_failed_at);
        CREATE TABLE login_address_failures (
            id INTEGER PRIMARY KEY,
            ip TEXT NOT NULL,
            failed_at DATETIME NOT NULL
        );
        CREATE INDEX login_address_failures_ip ON login_address_failures(ip, failed_at, id);
        CREATE INDEX login_address_failures_time ON login_address_failures(failed_at);
        """
}
