/// The schema on PostgreSQL: the same named migrations as `Migrations`, in
/// the same order, with bodies in PostgreSQL's SQL. Released bodies are never
/// edited, on either engine.
///
/// Columns keep SQLite's storage classes so that both engines store the same
/// values: integers (and booleans as 0/1) in BIGINT, dates as the same
/// fixed-width UTC text (`StoredDate`), which orders and compares as it does
/// on SQLite, and bytes in BYTEA. Every table the store pages or sweeps in
/// `rowid` order has a `rowid` column of its own, as SQLite's tables have one.
/// Triggers are PL/pgSQL functions doing what the SQLite triggers do.
enum PostgresMigrations {
    static let all: [(name: String, sql: String)] = [
        ("v1-initial-schema", initialSchema),
        ("v2-alerts-and-notifications", alertsSchema + jobOutcomesFromJobs),
        ("v3-restore", restoreSchema),
        ("v4-fleet-summaries", fleetSummariesSchema + fleetSummariesFromSourceTables),
        ("v5-retention", retentionSchema),
        ("v6-replicas", replicasSchema),
        ("v7-login-throttle", loginThrottleSchema),
    ]

    /// The v1 `alerts` and `notification_channels` tables, which v2 replaces
    /// on SQLite, are never made here: no release wrote them.
    private static let initialSchema = """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
            disabled BIGINT NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            last_login_at TEXT
        );

        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            user_agent TEXT NOT NULL DEFAULT '',
            ip TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX sessions_user ON sessions(user_id);

        CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            expires_at TEXT
        );
        CREATE INDEX api_tokens_user ON api_tokens(user_id);

        CREATE TABLE hosts (
            id TEXT PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
            name TEXT NOT NULL,
            hostname TEXT NOT NULL,
            os TEXT NOT NULL DEFAULT '',
            arch TEXT NOT NULL DEFAULT '',
            agent_version TEXT NOT NULL DEFAULT '',
            restic_version TEXT NOT NULL DEFAULT '',
            agent_token_hash TEXT NOT NULL UNIQUE,
            enrolled_at TEXT NOT NULL,
            last_seen_at TEXT,
            connected BIGINT NOT NULL DEFAULT 0,
            boot_time TEXT,
            timezone TEXT,
            notes TEXT NOT NULL DEFAULT '',
            revoked_at TEXT
        );

        CREATE TABLE enrollment_tokens (
            id TEXT PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY,
            token_hash TEXT NOT NULL UNIQUE,
            note TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            used_by_host_id TEXT REFERENCES hosts(id) ON DELETE SET NULL,
            replace_host_id TEXT REFERENCES hosts(id) ON DELETE SET NULL
        );

        CREATE TABLE host_config (
            host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
            repo_url TEXT NOT NULL DEFAULT '',
            repo_username TEXT NOT NULL DEFAULT '',
            repo_password_enc BYTEA,
            repo_credential_enc BYTEA,
            hook_shell TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL
        );

        CREATE TABLE schedules (
            id TEXT PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY,
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
            enabled BIGINT NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX schedules_host ON schedules(host_id);

        CREATE TABLE host_schedule_version (
            host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
            desired_version BIGINT NOT NULL DEFAULT 0,
            acked_version BIGINT NOT NULL DEFAULT 0,
            acked_at TEXT
        );

        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            schedule_id TEXT,
            kind TEXT NOT NULL,
            trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule', 'api')),
            args TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
            queued_at TEXT NOT NULL,
            dispatched_at TEXT,
            accepted_at TEXT,
            started_at TEXT,
            finished_at TEXT,
            expires_at TEXT,
            exit_code BIGINT,
            stats TEXT,
            error TEXT,
            progress TEXT,
            requested_by TEXT
        );
        CREATE INDEX jobs_host_status ON jobs(host_id, status);
        CREATE INDEX jobs_status ON jobs(status);

        CREATE TABLE job_logs (
            job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            ts TEXT NOT NULL,
            stream TEXT NOT NULL,
            payload TEXT NOT NULL,
            PRIMARY KEY (job_id, seq)
        );

        CREATE TABLE snapshots (
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY,
            snapshot_id TEXT NOT NULL,
            time TEXT NOT NULL,
            hostname TEXT NOT NULL DEFAULT '',
            paths TEXT NOT NULL DEFAULT '[]',
            tags TEXT NOT NULL DEFAULT '[]',
            size_bytes BIGINT NOT NULL DEFAULT 0,
            file_count BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (host_id, snapshot_id)
        );

        CREATE TABLE repo_stats (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS (id) STORED,
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            reported_at TEXT NOT NULL,
            size_bytes BIGINT NOT NULL,
            snapshot_count BIGINT NOT NULL,
            dedup_ratio DOUBLE PRECISION NOT NULL,
            last_check_at TEXT,
            last_check_status TEXT,
            lock_state TEXT NOT NULL
        );
        CREATE INDEX repo_stats_host ON repo_stats(host_id, id);

        CREATE TABLE processed_messages (
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            message_id TEXT NOT NULL,
            processed_at TEXT NOT NULL,
            PRIMARY KEY (host_id, message_id)
        );

        CREATE TABLE audit_log (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS (id) STORED,
            ts TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target_type TEXT NOT NULL DEFAULT '',
            target_id TEXT NOT NULL DEFAULT '',
            details TEXT NOT NULL DEFAULT '{}',
            ip TEXT NOT NULL DEFAULT ''
        );
        """

    private static let alertsSchema = """
        CREATE TABLE alert_rules (
            rule TEXT PRIMARY KEY,
            enabled BIGINT NOT NULL,
            threshold_minutes DOUBLE PRECISION,
            repeat_minutes DOUBLE PRECISION,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY,
            rule TEXT NOT NULL,
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            subject TEXT NOT NULL,
            schedule_id TEXT,
            job_id TEXT,
            severity TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
            state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
            message TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            resolved_at TEXT,
            acknowledged_at TEXT,
            acknowledged_by TEXT,
            last_notified_at TEXT
        );
        CREATE UNIQUE INDEX alerts_one_open ON alerts(rule, host_id, subject) WHERE state = 'open';
        CREATE INDEX alerts_host_state ON alerts(host_id, state);
        CREATE INDEX alerts_state ON alerts(state);

        CREATE TABLE notification_channels (
            id TEXT PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('webhook', 'email')),
            enabled BIGINT NOT NULL DEFAULT 1,
            events TEXT NOT NULL,
            config TEXT NOT NULL,
            secrets_enc BYTEA,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE notifications (
            id TEXT PRIMARY KEY,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY,
            target TEXT NOT NULL CHECK (target IN ('channel', 'ping')),
            channel_id TEXT REFERENCES notification_channels(id) ON DELETE CASCADE,
            schedule_id TEXT REFERENCES schedules(id) ON DELETE CASCADE,
            event TEXT NOT NULL,
            alert_id TEXT,
            job_id TEXT,
            payload TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            delivered_at TEXT
        );
        CREATE INDEX notifications_due ON notifications(next_attempt_at) WHERE status = 'pending';
        CREATE INDEX notifications_channel ON notifications(channel_id);

        ALTER TABLE schedules ADD COLUMN ping_url_enc BYTEA;
        ALTER TABLE schedules ADD COLUMN runs_expected_since TEXT;
        UPDATE schedules SET runs_expected_since = created_at;
        ALTER TABLE host_schedule_version ADD COLUMN desired_at TEXT;
        CREATE INDEX jobs_schedule_started ON jobs(schedule_id, started_at);

        CREATE TABLE job_outcomes (
            host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            subject TEXT NOT NULL,
            kind TEXT NOT NULL,
            schedule_id TEXT,
            job_id TEXT NOT NULL,
            status TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            last_success_at TEXT,
            PRIMARY KEY (host_id, subject)
        );

        CREATE FUNCTION jobs_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
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
            RETURN NULL;
        END $$;
        CREATE TRIGGER jobs_outcome AFTER UPDATE OF status ON jobs FOR EACH ROW
        WHEN (NEW.status IN ('succeeded', 'failed') AND OLD.status <> NEW.status AND NEW.finished_at IS NOT NULL)
        EXECUTE FUNCTION jobs_outcome();

        """

    /// As `Migrations.jobOutcomesFromJobs`, with PostgreSQL's grouping: the
    /// newest job per subject is chosen by `DISTINCT ON`, where SQLite takes
    /// the bare columns of the `MAX` row.
    static let jobOutcomesFromJobs = """
        INSERT INTO job_outcomes (host_id, subject, kind, schedule_id, job_id, status, finished_at)
        SELECT DISTINCT ON (host_id, COALESCE(schedule_id, 'kind:' || kind))
            host_id, COALESCE(schedule_id, 'kind:' || kind), kind, schedule_id, id, status, finished_at
        FROM jobs WHERE status IN ('succeeded', 'failed') AND finished_at IS NOT NULL
        ORDER BY host_id, COALESCE(schedule_id, 'kind:' || kind), finished_at DESC;
        UPDATE job_outcomes SET last_success_at = (
            SELECT MAX(finished_at) FROM jobs
            WHERE jobs.host_id = job_outcomes.host_id AND jobs.status = 'succeeded'
                AND COALESCE(jobs.schedule_id, 'kind:' || jobs.kind) = job_outcomes.subject);

        """

    private static let restoreSchema = """
        ALTER TABLE hosts ADD COLUMN restore_targets TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE hosts ADD COLUMN hooks_allowed BIGINT NOT NULL DEFAULT 1;
        ALTER TABLE jobs ADD COLUMN restore TEXT;
        """

    private static let fleetSummariesSchema = """
        ALTER TABLE hosts ADD COLUMN last_backup_job_id TEXT;
        ALTER TABLE hosts ADD COLUMN last_backup_status TEXT;
        ALTER TABLE hosts ADD COLUMN last_backup_finished_at TEXT;
        ALTER TABLE hosts ADD COLUMN last_success_at TEXT;
        ALTER TABLE hosts ADD COLUMN open_alerts BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE hosts ADD COLUMN repo_size_bytes BIGINT;
        ALTER TABLE hosts ADD COLUMN enabled_schedules BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE hosts ADD COLUMN repo_configured BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE hosts ADD COLUMN schedule_pending BIGINT NOT NULL DEFAULT 0;

        CREATE FUNCTION jobs_host_summary() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE hosts SET last_backup_job_id = NEW.id, last_backup_status = NEW.status,
                last_backup_finished_at = NEW.finished_at
            WHERE id = NEW.host_id
                AND (last_backup_finished_at IS NULL OR last_backup_finished_at <= NEW.finished_at);
            UPDATE hosts SET last_success_at = NEW.finished_at
            WHERE NEW.status = 'succeeded' AND id = NEW.host_id
                AND (last_success_at IS NULL OR last_success_at < NEW.finished_at);
            RETURN NULL;
        END $$;
        CREATE TRIGGER jobs_host_summary AFTER UPDATE OF status ON jobs FOR EACH ROW
        WHEN (NEW.kind = 'backup' AND NEW.status IN ('succeeded', 'failed', 'cancelled') AND OLD.status <> NEW.status
            AND NEW.finished_at IS NOT NULL)
        EXECUTE FUNCTION jobs_host_summary();

        -- One function counts a host's open alerts for every change of alerts.
        CREATE FUNCTION alerts_host_summary() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            host TEXT := CASE WHEN TG_OP = 'DELETE' THEN OLD.host_id ELSE NEW.host_id END;
        BEGIN
            UPDATE hosts SET open_alerts = (SELECT COUNT(*) FROM alerts WHERE host_id = host AND state = 'open')
            WHERE id = host;
            RETURN NULL;
        END $$;
        CREATE TRIGGER alerts_opened_host_summary AFTER INSERT ON alerts
        FOR EACH ROW EXECUTE FUNCTION alerts_host_summary();
        CREATE TRIGGER alerts_changed_host_summary AFTER UPDATE OF state ON alerts
        FOR EACH ROW EXECUTE FUNCTION alerts_host_summary();
        CREATE TRIGGER alerts_deleted_host_summary AFTER DELETE ON alerts
        FOR EACH ROW EXECUTE FUNCTION alerts_host_summary();

        CREATE FUNCTION repo_stats_host_summary() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE hosts SET repo_size_bytes = NEW.size_bytes WHERE id = NEW.host_id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER repo_stats_host_summary AFTER INSERT ON repo_stats
        FOR EACH ROW EXECUTE FUNCTION repo_stats_host_summary();

        CREATE FUNCTION schedules_host_summary() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            host TEXT := CASE WHEN TG_OP = 'DELETE' THEN OLD.host_id ELSE NEW.host_id END;
        BEGIN
            UPDATE hosts SET enabled_schedules = (
                SELECT COUNT(*) FROM schedules WHERE host_id = host AND enabled = 1)
            WHERE id = host;
            RETURN NULL;
        END $$;
        CREATE TRIGGER schedules_added_host_summary AFTER INSERT ON schedules
        FOR EACH ROW EXECUTE FUNCTION schedules_host_summary();
        CREATE TRIGGER schedules_changed_host_summary AFTER UPDATE OF enabled ON schedules
        FOR EACH ROW EXECUTE FUNCTION schedules_host_summary();
        CREATE TRIGGER schedules_deleted_host_summary AFTER DELETE ON schedules
        FOR EACH ROW EXECUTE FUNCTION schedules_host_summary();

        CREATE FUNCTION host_config_host_summary() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE hosts SET repo_configured = (NEW.repo_url <> '')::int WHERE id = NEW.host_id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER host_config_added_host_summary AFTER INSERT ON host_config
        FOR EACH ROW EXECUTE FUNCTION host_config_host_summary();
        CREATE TRIGGER host_config_changed_host_summary AFTER UPDATE OF repo_url ON host_config
        FOR EACH ROW EXECUTE FUNCTION host_config_host_summary();

        CREATE FUNCTION schedule_version_host_summary() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE hosts SET schedule_pending = (NEW.acked_version < NEW.desired_version)::int WHERE id = NEW.host_id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER schedule_version_added_host_summary AFTER INSERT ON host_schedule_version
        FOR EACH ROW EXECUTE FUNCTION schedule_version_host_summary();
        CREATE TRIGGER schedule_version_changed_host_summary AFTER UPDATE ON host_schedule_version
        FOR EACH ROW EXECUTE FUNCTION schedule_version_host_summary();

        """

    /// As `Migrations.fleetSummariesFromSourceTables`, with comparisons
    /// turned into the 0/1 both engines store.
    static let fleetSummariesFromSourceTables = """
        UPDATE hosts SET
            open_alerts = (SELECT COUNT(*) FROM alerts a WHERE a.host_id = hosts.id AND a.state = 'open'),
            enabled_schedules = (SELECT COUNT(*) FROM schedules s WHERE s.host_id = hosts.id AND s.enabled = 1),
            repo_size_bytes = (SELECT size_bytes FROM repo_stats r WHERE r.host_id = hosts.id ORDER BY r.id DESC LIMIT 1),
            repo_configured = COALESCE((SELECT (repo_url <> '')::int FROM host_config c WHERE c.host_id = hosts.id), 0),
            schedule_pending = COALESCE(
                (SELECT (acked_version < desired_version)::int FROM host_schedule_version v WHERE v.host_id = hosts.id), 0),
            last_success_at = (SELECT MAX(finished_at) FROM jobs j
                WHERE j.host_id = hosts.id AND j.kind = 'backup' AND j.status = 'succeeded');
        UPDATE hosts SET (last_backup_job_id, last_backup_status, last_backup_finished_at) = (
            SELECT id, status, finished_at FROM jobs j
            WHERE j.host_id = hosts.id AND j.kind = 'backup'
                AND j.status IN ('succeeded', 'failed', 'cancelled') AND j.finished_at IS NOT NULL
            ORDER BY j.finished_at DESC LIMIT 1);
        """

    private static let retentionSchema = """
        CREATE INDEX jobs_finished ON jobs(finished_at);
        CREATE INDEX jobs_host_kind_finished ON jobs(host_id, kind, status, finished_at);
        CREATE INDEX repo_stats_reported ON repo_stats(reported_at);
        """

    private static let replicasSchema = """
        CREATE TABLE store_seal (
            id BIGINT PRIMARY KEY CHECK (id = 1),
            sealed BYTEA NOT NULL,
            sealed_at TEXT NOT NULL
        );
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE TABLE host_leases (
            host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
            replica TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE INDEX host_leases_replica ON host_leases(replica);
        CREATE INDEX host_leases_expiry ON host_leases(expires_at);
        ALTER TABLE notifications ADD COLUMN claimed_until TEXT;
        """

    private static let loginThrottleSchema = """
        CREATE TABLE login_failures (
            username TEXT NOT NULL,
            ip TEXT NOT NULL,
            failures BIGINT NOT NULL,
            last_failed_at TEXT NOT NULL,
            PRIMARY KEY (username, ip)
        );
        CREATE INDEX login_failures_last ON login_failures(last_failed_at);
        CREATE TABLE login_address_failures (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            ip TEXT NOT NULL,
            failed_at TEXT NOT NULL
        );
        CREATE INDEX login_address_failures_ip ON login_address_failures(ip, failed_at, id);
        CREATE INDEX login_address_failures_time ON login_address_failures(failed_at);
        """
}
