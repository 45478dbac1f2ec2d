import Foundation
import Testing

@testable import ResticManagerProtocol

/// One message as Go's encoding/json writes it, and the Swift value it means.
///
/// Fixtures follow Go's output: members in struct field order, no
/// whitespace, `omitempty` members left out, the zero time for absent
/// times, nanosecond fractions and non-UTC offsets as other senders may
/// write them, `\u003c`-style escapes for `<`, `>` and `&`.
struct Golden: Sendable, CustomTestStringConvertible {
    let name: String
    let json: String
    let expected: Envelope
    /// Member paths of raw JSON values whose text must survive byte for byte.
    var rawPaths: [[String]] = []

    var testDescription: String { name }
}

/// `restic backup --json` summary line, verbatim from
/// shared/reference/restic-0.14-json/backup1.jsonl.
let resticSummaryLine =
    #"{"message_type":"summary","files_new":5,"files_changed":0,"files_unmodified":0,"dirs_new":2,"dirs_changed":0,"dirs_unmodified":0,"data_blobs":5,"tree_blobs":3,"data_added":602464,"total_files_processed":5,"total_bytes_processed":600012,"total_duration":0.221721889,"snapshot_id":"a289bea0"}"#

private let jobID = "0b9c6a8e-5d0f-4f51-a7f4-8c2b1de0a001"

extension Golden {
    static let all: [Golden] = [
        Golden(
            name: "hello with boot time and timezone",
            json:
                #"{"type":"hello","id":"6f1c0a52-8a4e-4c35-9a59-3f1f4c1b2a01","ts":"2026-05-01T00:24:40.123456789+01:00","payload":{"protocol_version":1,"agent_version":"0.3.1","restic_version":"0.14.0","hostname":"db-01","os":"linux","arch":"amd64","boot_time":"2026-04-28T07:15:02.5+01:00","timezone":"Europe/London"}}"#,
            expected: Envelope(
                id: "6f1c0a52-8a4e-4c35-9a59-3f1f4c1b2a01",
                ts: date("2026-05-01T00:24:40.123456789+01:00"),
                message: .hello(
                    HelloPayload(
                        protocolVersion: 1,
                        agentVersion: "0.3.1",
                        resticVersion: "0.14.0",
                        hostname: "db-01",
                        os: "linux",
                        arch: "amd64",
                        bootTime: Date(timeIntervalSince1970: 1_777_356_902.5),
                        timezone: "Europe/London"
                    )
                )
            )
        ),
        Golden(
            name: "hello from a Go agent: zero boot time, no timezone, another OS",
            json:
                #"{"type":"hello","id":"h2","ts":"2026-05-01T00:24:40Z","payload":{"protocol_version":1,"agent_version":"0.1.0","restic_version":"0.16.4","hostname":"WIN-FS01","os":"windows","arch":"arm64","boot_time":"0001-01-01T00:00:00Z"}}"#,
            expected: Envelope(
                id: "h2",
                ts: Date(timeIntervalSince1970: 1_777_595_080),
                message: .hello(
                    HelloPayload(
                        protocolVersion: 1,
                        agentVersion: "0.1.0",
                        resticVersion: "0.16.4",
                        hostname: "WIN-FS01",
                        os: "windows",
                        arch: "arm64"
                    )
                )
            )
        ),
        Golden(
            name: "heartbeat",
            json:
                #"{"type":"heartbeat","id":"hb-1","ts":"2026-05-01T00:25:10.000000001Z","payload":{"sent_at":"2026-05-01T00:25:10.000000001Z"}}"#,
            expected: Envelope(
                id: "hb-1",
                ts: date("2026-05-01T00:25:10.000000001Z"),
                message: .heartbeat(HeartbeatPayload(sentAt: date("2026-05-01T00:25:10.000000001Z")))
            )
        ),
        Golden(
            name: "config.update with every field",
            json:
                #"{"type":"config.update","id":"c1","ts":"2026-05-01T00:24:40.2Z","payload":{"repo_url":"rest:https://backup.example.net/db-01/","repo_password":"correct horse battery staple","repo_username":"db-01","repo_credential":"s3cr3t\u0026more","hook_shell":"/bin/bash -c"}}"#,
            expected: Envelope(
                id: "c1",
                ts: date("2026-05-01T00:24:40.2Z"),
                message: .configUpdate(
                    ConfigUpdatePayload(
                        repoURL: "rest:https://backup.example.net/db-01/",
                        repoPassword: "correct horse battery staple",
                        repoUsername: "db-01",
                        repoCredential: "s3cr3t&more",
                        hookShell: "/bin/bash -c"
                    )
                )
            )
        ),
        Golden(
            name: "config.update with nothing to change",
            json: #"{"type":"config.update","id":"c2","ts":"2026-05-01T00:24:40Z","payload":{}}"#,
            expected: Envelope(
                id: "c2",
                ts: date("2026-05-01T00:24:40Z"),
                message: .configUpdate(ConfigUpdatePayload())
            )
        ),
        Golden(
            name: "schedule.set with raw retention policy and options",
            json:
                #"{"type":"schedule.set","id":"s1","ts":"2026-05-01T00:24:40.5+02:00","payload":{"version":7,"schedules":[{"id":"sch-1","kind":"backup","cron_expr":"30 2 * * *","paths":["/srv/data","/etc"],"excludes":["*.tmp"],"tags":["nightly"],"options":{ "one_file_system": true, "compression":"max",  "limit_upload_kib": 2048 },"pre_hook":"pg_dump -Fc app \u003e /srv/data/app.dump","post_hook":"rm -f /srv/data/app.dump","enabled":true},{"id":"sch-2","kind":"forget","cron_expr":"@daily","retention_policy":{"keep_daily":7, "keep_weekly":4,"keep_tags":["keep", "\u00e9t\u00e9"],"prune":true},"enabled":false}]}}"#,
            expected: Envelope(
                id: "s1",
                ts: date("2026-05-01T00:24:40.5+02:00"),
                message: .scheduleSet(
                    ScheduleSetPayload(
                        version: 7,
                        schedules: [
                            Schedule(
                                id: "sch-1",
                                kind: .backup,
                                cronExpr: "30 2 * * *",
                                paths: ["/srv/data", "/etc"],
                                excludes: ["*.tmp"],
                                tags: ["nightly"],
                                options: RawJSON(
                                    verbatim:
                                        #"{ "one_file_system": true, "compression":"max",  "limit_upload_kib": 2048 }"#
                                ),
                                preHook: "pg_dump -Fc app > /srv/data/app.dump",
                                postHook: "rm -f /srv/data/app.dump",
                                enabled: true
                            ),
                            Schedule(
                                id: "sch-2",
                                kind: .forget,
                                cronExpr: "@daily",
                                retentionPolicy: RawJSON(
                                    verbatim:
                                        #"{"keep_daily":7, "keep_weekly":4,"keep_tags":["keep", "\u00e9t\u00e9"],"prune":true}"#
                                ),
                                enabled: false
                            ),
                        ]
                    )
                )
            ),
            rawPaths: [["payload", "schedules", "0", "options"], ["payload", "schedules", "1", "retention_policy"]]
        ),
        Golden(
            name: "schedule.set with no schedules",
            json:
                #"{"type":"schedule.set","id":"s2","ts":"2026-05-01T00:24:40Z","payload":{"version":8,"schedules":[]}}"#,
            expected: Envelope(
                id: "s2",
                ts: date("2026-05-01T00:24:40Z"),
                message: .scheduleSet(ScheduleSetPayload(version: 8, schedules: []))
            )
        ),
        Golden(
            name: "schedule.ack",
            json:
                #"{"type":"schedule.ack","id":"sa1","ts":"2026-05-01T00:24:41.75-04:30","payload":{"version":7,"applied_at":"2026-05-01T00:24:41.75-04:30"}}"#,
            expected: Envelope(
                id: "sa1",
                ts: date("2026-05-01T00:24:41.75-04:30"),
                message: .scheduleAck(
                    ScheduleAckPayload(
                        version: 7,
                        appliedAt: Date(timeIntervalSince1970: 1_777_611_281.75)
                    )
                )
            )
        ),
        Golden(
            name: "command.run ad-hoc backup",
            json:
                #"{"type":"command.run","id":"r1","ts":"2026-05-01T00:24:40Z","payload":{"job_id":"0b9c6a8e-5d0f-4f51-a7f4-8c2b1de0a001","kind":"backup","args":["/srv/data","/home/ann/Documents and Settings"]}}"#,
            expected: Envelope(
                id: "r1",
                ts: date("2026-05-01T00:24:40Z"),
                message: .commandRun(
                    CommandRunPayload(
                        jobID: jobID,
                        kind: .backup,
                        args: ["/srv/data", "/home/ann/Documents and Settings"]
                    )
                )
            )
        ),
        Golden(
            name: "command.run of a schedule",
            json:
                #"{"type":"command.run","id":"r2","ts":"2026-05-01T00:24:40Z","payload":{"job_id":"j-forget","kind":"forget","schedule_id":"sch-2"}}"#,
            expected: Envelope(
                id: "r2",
                ts: date("2026-05-01T00:24:40Z"),
                message: .commandRun(CommandRunPayload(jobID: "j-forget", kind: .forget, scheduleID: "sch-2"))
            )
        ),
        Golden(
            name: "command.run init",
            json:
                #"{"type":"command.run","id":"r3","ts":"2026-05-01T00:24:40Z","payload":{"job_id":"j-init","kind":"init"}}"#,
            expected: Envelope(
                id: "r3",
                ts: date("2026-05-01T00:24:40Z"),
                message: .commandRun(CommandRunPayload(jobID: "j-init", kind: .`init`))
            )
        ),
        Golden(
            name: "command.cancel",
            json:
                #"{"type":"command.cancel","id":"cc1","ts":"2026-05-01T00:24:40Z","payload":{"job_id":"0b9c6a8e-5d0f-4f51-a7f4-8c2b1de0a001"}}"#,
            expected: Envelope(
                id: "cc1",
                ts: date("2026-05-01T00:24:40Z"),
                message: .commandCancel(CommandCancelPayload(jobID: jobID))
            )
        ),
        Golden(
            name: "command.result accepted",
            json:
                #"{"type":"command.result","id":"cr1","ts":"2026-05-01T00:24:40.001Z","payload":{"job_id":"0b9c6a8e-5d0f-4f51-a7f4-8c2b1de0a001","accepted":true}}"#,
            expected: Envelope(
                id: "cr1",
                ts: date("2026-05-01T00:24:40.001Z"),
                message: .commandResult(CommandResultPayload(jobID: jobID, accepted: true))
            )
        ),
        Golden(
            name: "command.result refused",
            json:
                #"{"type":"command.result","id":"cr2","ts":"2026-05-01T00:24:40Z","payload":{"job_id":"j-9","accepted":false,"error":"unknown schedule \"sch-9\""}}"#,
            expected: Envelope(
                id: "cr2",
                ts: date("2026-05-01T00:24:40Z"),
                message: .commandResult(
                    CommandResultPayload(
                        jobID: "j-9",
                        accepted: false,
                        error: #"unknown schedule "sch-9""#
                    )
                )
            )
        ),
        Golden(
            name: "job.started by the schedule",
            json:
                #"{"type":"job.started","id":"js1","ts":"2026-05-01T02:30:00.000412+01:00","payload":{"job_id":"0b9c6a8e-5d0f-4f51-a7f4-8c2b1de0a001","kind":"backup","started_at":"2026-05-01T02:30:00.000398177+01:00","schedule_id":"sch-1","trigger":"schedule"}}"#,
            expected: Envelope(
                id: "js1",
                ts: date("2026-05-01T02:30:00.000412+01:00"),
                message: .jobStarted(
                    JobStartedPayload(
                        jobID: jobID,
                        kind: .backup,
                        startedAt: date("2026-05-01T02:30:00.000398177+01:00"),
                        scheduleID: "sch-1",
                        trigger: .schedule
                    )
                )
            )
        ),
        Golden(
            name: "job.started from a Go agent",
            json:
                #"{"type":"job.started","id":"js2","ts":"2026-05-01T02:30:00Z","payload":{"job_id":"j-2","kind":"check","started_at":"2026-05-01T02:30:00Z"}}"#,
            expected: Envelope(
                id: "js2",
                ts: date("2026-05-01T02:30:00Z"),
                message: .jobStarted(
                    JobStartedPayload(jobID: "j-2", kind: .check, startedAt: date("2026-05-01T02:30:00Z"))
                )
            )
        ),
        Golden(
            name: "job.progress",
            json:
                #"{"type":"job.progress","id":"jp1","ts":"2026-05-01T02:30:05.25Z","payload":{"job_id":"0b9c6a8e-5d0f-4f51-a7f4-8c2b1de0a001","percent_done":0.4213,"files_done":1200,"total_files":3000,"bytes_done":123456789,"total_bytes":300000000,"eta_seconds":42,"throughput_bps":10485760}}"#,
            expected: Envelope(
                id: "jp1",
                ts: date("2026-05-01T02:30:05.25Z"),
                message: .jobProgress(
                    JobProgressPayload(
                        jobID: jobID,
                        percentDone: 0.4213,
                        filesDone: 1200,
                        totalFiles: 3000,
                        bytesDone: 123_456_789,
                        totalBytes: 300_000_000,
                        etaSeconds: 42,
                        throughputBps: 10_485_760
                    )
                )
            )
        ),
        Golden(
            name: "job.progress at 100 percent with zeros",
            json:
                #"{"type":"job.progress","id":"jp2","ts":"2026-05-01T02:30:09Z","payload":{"job_id":"j-2","percent_done":1,"files_done":0,"total_files":0,"bytes_done":0,"total_bytes":0,"eta_seconds":0,"throughput_bps":0}}"#,
            expected: Envelope(
                id: "jp2",
                ts: date("2026-05-01T02:30:09Z"),
                message: .jobProgress(JobProgressPayload(jobID: "j-2", percentDone: 1))
            )
        ),
        Golden(
            name: "job.finished with the restic summary as stats",
            json:
                #"{"type":"job.finished","id":"jf1","ts":"2026-05-01T02:30:10.9Z","payload":{"job_id":"0b9c6a8e-5d0f-4f51-a7f4-8c2b1de0a001","status":"succeeded","exit_code":0,"finished_at":"2026-05-01T02:30:10.899123456Z","stats":"#
                + resticSummaryLine + #"}}"#,
            expected: Envelope(
                id: "jf1",
                ts: date("2026-05-01T02:30:10.9Z"),
                message: .jobFinished(
                    JobFinishedPayload(
                        jobID: jobID,
                        status: .succeeded,
                        exitCode: 0,
                        finishedAt: date("2026-05-01T02:30:10.899123456Z"),
                        stats: RawJSON(verbatim: resticSummaryLine)
                    )
                )
            ),
            rawPaths: [["payload", "stats"]]
        ),
        Golden(
            name: "job.finished failed without stats",
            json:
                #"{"type":"job.finished","id":"jf2","ts":"2026-05-01T02:30:10Z","payload":{"job_id":"j-3","status":"failed","exit_code":1,"finished_at":"2026-05-01T02:30:10Z","error":"Fatal: wrong password or no key found"}}"#,
            expected: Envelope(
                id: "jf2",
                ts: date("2026-05-01T02:30:10Z"),
                message: .jobFinished(
                    JobFinishedPayload(
                        jobID: "j-3",
                        status: .failed,
                        exitCode: 1,
                        finishedAt: date("2026-05-01T02:30:10Z"),
                        error: "Fatal: wrong password or no key found"
                    )
                )
            )
        ),
        Golden(
            name: "log.stream event line",
            json:
                #"{"type":"log.stream","id":"l1","ts":"2026-05-01T02:30:05.123456789+01:00","payload":{"job_id":"0b9c6a8e-5d0f-4f51-a7f4-8c2b1de0a001","seq":42,"ts":"2026-05-01T02:30:05.123456789+01:00","stream":"event","payload":"{\"message_type\":\"status\",\"percent_done\":0.5,\"total_files\":1}"}}"#,
            expected: Envelope(
                id: "l1",
                ts: date("2026-05-01T02:30:05.123456789+01:00"),
                message: .logStream(
                    LogStreamLine(
                        jobID: jobID,
                        seq: 42,
                        ts: date("2026-05-01T02:30:05.123456789+01:00"),
                        stream: .event,
                        payload: #"{"message_type":"status","percent_done":0.5,"total_files":1}"#
                    )
                )
            )
        ),
        Golden(
            name: "log.stream stderr line with escapes and non-ASCII",
            json:
                #"{"type":"log.stream","id":"l2","ts":"2026-05-01T02:30:06Z","payload":{"job_id":"j-4","seq":9007199254740993,"ts":"2026-05-01T02:30:06Z","stream":"stderr","payload":"Fehler: Zugriff verweigert – C:\\Users\\ann\\\u003ctemp\u003e\t😀"}}"#,
            expected: Envelope(
                id: "l2",
                ts: date("2026-05-01T02:30:06Z"),
                message: .logStream(
                    LogStreamLine(
                        jobID: "j-4",
                        seq: 9_007_199_254_740_993,
                        ts: date("2026-05-01T02:30:06Z"),
                        stream: .stderr,
                        payload: "Fehler: Zugriff verweigert – C:\\Users\\ann\\<temp>\t😀"
                    )
                )
            )
        ),
        Golden(
            name: "snapshots.report",
            json:
                #"{"type":"snapshots.report","id":"sr1","ts":"2026-11-29T02:23:00Z","payload":{"snapshots":[{"id":"a289bea04a1097c8455a2ddd110cd8405eb8f32705ed5b7127cddc934715f380","time":"2026-11-29T02:22:35.900189503Z","hostname":"vm","paths":["/srv/example/data"],"tags":["nightly","db"],"size_bytes":602464,"file_count":5},{"id":"cf69040ff5d380bf88ea3e18d812c556e50f495e712b94986627fe46fb8245c2","time":"2026-11-29T03:22:41.127351163+01:00","hostname":"vm","paths":["/srv/example/data","/etc"]}]}}"#,
            expected: Envelope(
                id: "sr1",
                ts: date("2026-11-29T02:23:00Z"),
                message: .snapshotsReport(
                    SnapshotsReportPayload(snapshots: [
                        Snapshot(
                            id: "a289bea04a1097c8455a2ddd110cd8405eb8f32705ed5b7127cddc934715f380",
                            time: date("2026-11-29T02:22:35.900189503Z"),
                            hostname: "vm",
                            paths: ["/srv/example/data"],
                            tags: ["nightly", "db"],
                            sizeBytes: 602_464,
                            fileCount: 5
                        ),
                        Snapshot(
                            id: "cf69040ff5d380bf88ea3e18d812c556e50f495e712b94986627fe46fb8245c2",
                            time: date("2026-11-29T02:22:41.127351163Z"),
                            hostname: "vm",
                            paths: ["/srv/example/data", "/etc"]
                        ),
                    ])
                )
            )
        ),
        Golden(
            name: "repo.stats after a check",
            json:
                #"{"type":"repo.stats","id":"rs1","ts":"2026-05-01T03:00:15Z","payload":{"size_bytes":1073741824,"snapshot_count":12,"dedup_ratio":2.37,"last_check_at":"2026-05-01T05:00:12.75+02:00","last_check_status":"ok","lock_state":"unlocked"}}"#,
            expected: Envelope(
                id: "rs1",
                ts: date("2026-05-01T03:00:15Z"),
                message: .repoStats(
                    RepoStatsPayload(
                        sizeBytes: 1_073_741_824,
                        snapshotCount: 12,
                        dedupRatio: 2.37,
                        lastCheckAt: date("2026-05-01T03:00:12.75Z"),
                        lastCheckStatus: "ok",
                        lockState: "unlocked"
                    )
                )
            )
        ),
        Golden(
            name: "repo.stats never checked (zero time)",
            json:
                #"{"type":"repo.stats","id":"rs2","ts":"2026-05-01T03:00:15Z","payload":{"size_bytes":0,"snapshot_count":0,"dedup_ratio":0,"last_check_at":"0001-01-01T00:00:00Z","lock_state":"locked"}}"#,
            expected: Envelope(
                id: "rs2",
                ts: date("2026-05-01T03:00:15Z"),
                message: .repoStats(
                    RepoStatsPayload(sizeBytes: 0, snapshotCount: 0, dedupRatio: 0, lockState: "locked")
                )
            )
        ),
        Golden(
            name: "agent.update_available",
            json:
                #"{"type":"agent.update_available","id":"u1","ts":"2026-05-01T00:24:40Z","payload":{"latest_version":"0.4.0","package_url":"https://packages.example.net/apt","changelog":"- faster uploads\n- fixes \u0026 polish"}}"#,
            expected: Envelope(
                id: "u1",
                ts: date("2026-05-01T00:24:40Z"),
                message: .agentUpdateAvailable(
                    AgentUpdateAvailablePayload(
                        latestVersion: "0.4.0",
                        packageURL: "https://packages.example.net/apt",
                        changelog: "- faster uploads\n- fixes & polish"
                    )
                )
            )
        ),
        Golden(
            name: "agent.update_available without changelog",
            json:
                #"{"type":"agent.update_available","id":"u2","ts":"2026-05-01T00:24:40Z","payload":{"latest_version":"0.4.0","package_url":"choco://restic-manager-agent"}}"#,
            expected: Envelope(
                id: "u2",
                ts: date("2026-05-01T00:24:40Z"),
                message: .agentUpdateAvailable(
                    AgentUpdateAvailablePayload(
                        latestVersion: "0.4.0",
                        packageURL: "choco://restic-manager-agent"
                    )
                )
            )
        ),
        Golden(
            name: "ack",
            json: #"{"type":"ack","id":"a1","ts":"2026-05-01T00:24:40.1Z","payload":{"ids":["l1","l2","jf1"]}}"#,
            expected: Envelope(
                id: "a1",
                ts: date("2026-05-01T00:24:40.1Z"),
                message: .ack(AckPayload(ids: ["l1", "l2", "jf1"]))
            )
        ),
        Golden(
            name: "error answering a message",
            json:
                #"{"type":"error","id":"e1","ts":"2026-05-01T00:24:40Z","payload":{"code":"forbidden","message":"job j-7 belongs to another host","ref_id":"jf9"}}"#,
            expected: Envelope(
                id: "e1",
                ts: date("2026-05-01T00:24:40Z"),
                message: .error(
                    ErrorPayload(code: .forbidden, message: "job j-7 belongs to another host", refID: "jf9")
                )
            )
        ),
        Golden(
            name: "error with an unknown code and no ref_id",
            json:
                #"{"type":"error","id":"e2","ts":"2026-05-01T00:24:40Z","payload":{"code":"disk_full","message":"no space left"}}"#,
            expected: Envelope(
                id: "e2",
                ts: date("2026-05-01T00:24:40Z"),
                message: .error(ErrorPayload(code: "disk_full", message: "no space left"))
            )
        ),
        Golden(
            name: "hello with restore targets and hooks off",
            json:
                #"{"type":"hello","id":"h3","ts":"2026-05-01T00:24:40Z","payload":{"protocol_version":1,"agent_version":"0.4.0","restic_version":"0.14.0","hostname":"db-01","os":"linux","arch":"amd64","boot_time":"0001-01-01T00:00:00Z","restore_targets":["/srv/restore","/mnt/r"],"hooks_allowed":false}}"#,
            expected: Envelope(
                id: "h3", ts: Date(timeIntervalSince1970: 1_777_595_080),
                message: .hello(HelloPayload(
                    protocolVersion: 1, agentVersion: "0.4.0", resticVersion: "0.14.0", hostname: "db-01", os: "linux",
                    arch: "amd64", restoreTargets: ["/srv/restore", "/mnt/r"], hooksAllowed: false)))
        ),
        Golden(
            name: "command.run of a cross-host restore",
            json:
                #"{"type":"command.run","id":"cr-r","ts":"2026-05-01T00:24:40Z","payload":{"job_id":"\#(jobID)","kind":"restore","restore":{"snapshot_id":"a289bea0","include":["/srv/a b"],"target":"/srv/restore/x","verify":true},"source":{"repo_url":"rest:http://10.0.0.5:8000/db","repo_username":"u","repo_password":"s3cret","repo_credential":"c"}}}"#,
            expected: Envelope(
                id: "cr-r", ts: Date(timeIntervalSince1970: 1_777_595_080),
                message: .commandRun(CommandRunPayload(
                    jobID: jobID, kind: .restore,
                    restore: RestoreRequest(snapshotID: "a289bea0", include: ["/srv/a b"], target: "/srv/restore/x",
                                            verify: true),
                    source: RepositorySource(repoURL: "rest:http://10.0.0.5:8000/db", repoUsername: "u",
                                             repoPassword: "s3cret", repoCredential: "c"))))
        ),
        Golden(
            name: "snapshot.ls of the host's own repository",
            json:
                #"{"type":"snapshot.ls","id":"ls-1","ts":"2026-05-01T00:24:40Z","payload":{"request_id":"rq-1","snapshot_id":"a289bea0","path":"/srv"}}"#,
            expected: Envelope(
                id: "ls-1", ts: Date(timeIntervalSince1970: 1_777_595_080),
                message: .snapshotLs(SnapshotLsRequest(requestID: "rq-1", snapshotID: "a289bea0", path: "/srv")))
        ),
        Golden(
            name: "snapshot.ls.result with nodes, and one with an error",
            json:
                #"{"type":"snapshot.ls.result","id":"lr-1","ts":"2026-05-01T00:24:40Z","payload":{"request_id":"rq-1","path":"/srv","nodes":[{"name":"a b","type":"dir","path":"/srv/a b","size":0,"mtime":"2026-04-30T10:00:00Z","mode":2147484141},{"name":"f","type":"file","path":"/srv/f","size":12,"mtime":"2026-04-30T10:00:00.5Z","mode":420}],"truncated":true}}"#,
            expected: Envelope(
                id: "lr-1", ts: Date(timeIntervalSince1970: 1_777_595_080),
                message: .snapshotLsResult(SnapshotLsResult(
                    requestID: "rq-1", path: "/srv",
                    nodes: [
                        SnapshotNode(name: "a b", type: "dir", path: "/srv/a b", size: 0,
                                     mtime: date("2026-04-30T10:00:00Z"), mode: 2_147_484_141),
                        SnapshotNode(name: "f", type: "file", path: "/srv/f", size: 12,
                                     mtime: date("2026-04-30T10:00:00.5Z"), mode: 420),
                    ],
                    truncated: true)))
        ),
        Golden(
            name: "snapshot.ls.result with an error",
            json:
                #"{"type":"snapshot.ls.result","id":"lr-2","ts":"2026-05-01T00:24:40Z","payload":{"request_id":"rq-2","path":"/nope","nodes":[],"truncated":false,"error":"/nope is not in snapshot a289bea0","error_code":"path_not_found"}}"#,
            expected: Envelope(
                id: "lr-2", ts: Date(timeIntervalSince1970: 1_777_595_080),
                message: .snapshotLsResult(.failure(
                    requestID: "rq-2", path: "/nope", .pathNotFound, "/nope is not in snapshot a289bea0")))
        ),
    ]
}
