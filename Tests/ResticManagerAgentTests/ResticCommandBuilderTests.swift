import ResticManagerProtocol
import Testing

@testable import ResticManagerAgent

private func json(_ text: String) -> RawJSON {
    // Test literals are valid JSON by construction.
    try! RawJSON(text: text)
}

private func spec(
    _ kind: JobKind,
    paths: [String] = [],
    excludes: [String] = [],
    tags: [String] = [],
    retention: String? = nil,
    options: String? = nil
) -> JobSpec {
    JobSpec(
        jobID: "job-1",
        kind: kind,
        paths: paths,
        excludes: excludes,
        tags: tags,
        retentionPolicy: retention.map(json),
        options: options.map(json)
    )
}

private func refusal(_ spec: JobSpec) -> String? {
    do {
        _ = try ResticCommandBuilder.arguments(for: spec)
        return nil
    } catch {
        return error.reason
    }
}

@Suite("ResticCommandBuilder arguments")
struct ResticCommandBuilderArgumentTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var spec: JobSpec
        var expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "backup: paths after --, excludes and tags as --flag=value",
            spec: spec(.backup, paths: ["/etc", "/home/a b"], excludes: ["*.tmp", "-odd"], tags: ["daily", "db"]),
            expected: [
                "backup", "--json", "--exclude=*.tmp", "--exclude=-odd", "--tag=daily", "--tag=db", "--", "/etc",
                "/home/a b",
            ]
        ),
        Case(
            name: "backup: every option, extra_args after the built flags and before --",
            spec: spec(
                .backup,
                paths: ["/srv"],
                excludes: ["/srv/cache"],
                options: """
                    {"one_file_system": true, "exclude_caches": true, "limit_upload_kib": 1024,
                     "limit_download_kib": 2048, "compression": "max", "extra_args": ["--verbose", "--host=x"]}
                    """
            ),
            expected: [
                "backup", "--json", "--one-file-system", "--exclude-caches", "--exclude=/srv/cache",
                "--compression=max", "--limit-upload=1024", "--limit-download=2048", "--verbose", "--host=x", "--",
                "/srv",
            ]
        ),
        Case(
            name: "backup: false flags and null options add nothing",
            spec: spec(.backup, paths: ["/srv"], options: #"{"one_file_system": false, "compression": null}"#),
            expected: ["backup", "--json", "--", "/srv"]
        ),
        Case(
            name: "backup: check-only option ignored",
            spec: spec(.backup, paths: ["/srv"], options: #"{"read_data_subset": "1/5"}"#),
            expected: ["backup", "--json", "--", "/srv"]
        ),
        Case(
            name: "forget: every rule in a fixed order",
            spec: spec(
                .forget,
                retention: """
                    {"prune": true, "keep_tags": ["keep", "a,b"], "keep_within": "1y6m", "keep_yearly": 5,
                     "keep_monthly": 12, "keep_weekly": 4, "keep_daily": 7, "keep_hourly": 24, "keep_last": 3}
                    """
            ),
            expected: [
                "forget", "--json", "--keep-last=3", "--keep-hourly=24", "--keep-daily=7", "--keep-weekly=4",
                "--keep-monthly=12", "--keep-yearly=5", "--keep-within=1y6m", "--keep-tag=keep", "--keep-tag=a,b",
                "--prune",
            ]
        ),
        Case(
            name: "forget: zero counts are unset, paths and tags ignored",
            spec: spec(.forget, paths: ["/x"], tags: ["t"], retention: #"{"keep_last": 1, "keep_daily": 0}"#),
            expected: ["forget", "--json", "--keep-last=1"]
        ),
        Case(
            name: "forget with prune gets compression, without it does not",
            spec: spec(.forget, retention: #"{"keep_last": 1, "prune": true}"#, options: #"{"compression": "auto"}"#),
            expected: ["forget", "--json", "--keep-last=1", "--prune", "--compression=auto"]
        ),
        Case(
            name: "check: read_data_subset",
            spec: spec(.check, options: #"{"read_data_subset": "10%"}"#),
            expected: ["check", "--read-data-subset=10%"]
        ),
        Case(name: "check: plain", spec: spec(.check), expected: ["check"]),
        Case(
            name: "prune: compression and limits",
            spec: spec(.prune, options: #"{"compression": "off", "limit_download_kib": 10}"#),
            expected: ["prune", "--compression=off", "--limit-download=10"]
        ),
        Case(name: "unlock", spec: spec(.unlock), expected: ["unlock"]),
        Case(name: "init", spec: spec(.`init`), expected: ["init"]),
        Case(
            name: "unlock: extra_args appended",
            spec: spec(.unlock, options: #"{"extra_args": ["--remove-all"]}"#),
            expected: ["unlock", "--remove-all"]
        ),
    ]

    @Test(arguments: cases)
    func buildsArguments(_ testCase: Case) throws {
        #expect(try ResticCommandBuilder.arguments(for: testCase.spec) == testCase.expected)
    }

    @Test func everyRunnableKindBuilds() throws {
        for kind in JobKind.allCases where kind != .restore {
            let job = spec(kind, paths: ["/data"], retention: #"{"keep_last": 1}"#)
            let arguments = try ResticCommandBuilder.arguments(for: job)
            #expect(arguments.first == kind.rawValue, "\(kind)")
        }
    }

    @Test func compressionIsLeftOutBeforeRestic014() throws {
        let job = spec(.backup, paths: ["/srv"], options: #"{"compression": "max"}"#)
        let old = ResticVersion("0.13.1")
        #expect(try ResticCommandBuilder.arguments(for: job, resticVersion: old) == ["backup", "--json", "--", "/srv"])
        #expect(ResticCommandBuilder.ignoredOptions(for: job, resticVersion: old).count == 1)
        let current = ResticVersion("0.14.0")
        #expect(try ResticCommandBuilder.arguments(for: job, resticVersion: current).contains("--compression=max"))
        #expect(ResticCommandBuilder.ignoredOptions(for: job, resticVersion: current).isEmpty)
    }
}

@Suite("ResticCommandBuilder refusals")
struct ResticCommandBuilderRefusalTests {
    @Test func forgetWithEmptyPolicyIsRefused() {
        let expected = "forget with an empty retention policy would delete every snapshot"
        #expect(refusal(spec(.forget)) == expected)
        #expect(refusal(spec(.forget, retention: "null")) == expected)
        #expect(refusal(spec(.forget, retention: "{}")) == expected)
        #expect(refusal(spec(.forget, retention: #"{"prune": true}"#)) == expected)
        #expect(refusal(spec(.forget, retention: #"{"keep_last": 0, "keep_within": "", "keep_tags": []}"#)) == expected)
    }

    @Test(arguments: [
        (#"{"keep_last": "3"}"#, "retention_policy.keep_last must be a non-negative integer"),
        (#"{"keep_daily": -1}"#, "retention_policy.keep_daily must be a non-negative integer"),
        (#"{"keep_weekly": 1.5}"#, "retention_policy.keep_weekly must be a non-negative integer"),
        (#"{"keep_within": "1x"}"#, #"retention_policy.keep_within must be a duration like "1y6m7d12h""#),
        (#"{"keep_within": "-1d"}"#, #"retention_policy.keep_within must be a duration like "1y6m7d12h""#),
        (#"{"keep_tags": "a"}"#, "retention_policy.keep_tags must be a list of strings"),
        (#"{"keep_last": 1, "prune": 1}"#, "retention_policy.prune must be true or false"),
        (#"{"keep_last": 1, "keep_forever": true}"#, #"unknown retention_policy field "keep_forever""#),
        (#"[1]"#, "retention_policy must be a JSON object"),
    ])
    func badRetentionPolicyIsRefused(policy: String, reason: String) {
        #expect(refusal(spec(.forget, retention: policy)) == reason)
    }

    @Test(arguments: [
        (#"{"dry_run": true}"#, #"unknown option "dry_run""#),
        (#"{"one_file_system": "yes"}"#, "options.one_file_system must be true or false"),
        (#"{"limit_upload_kib": 0}"#, "options.limit_upload_kib must be a positive integer (KiB/s)"),
        (#"{"limit_download_kib": "10"}"#, "options.limit_download_kib must be a positive integer (KiB/s)"),
        (#"{"compression": "fast"}"#, "options.compression must be one of auto, max, off"),
        (#"{"extra_args": "--verbose"}"#, "options.extra_args must be a list of strings"),
        (#"{"extra_args": [1]}"#, "options.extra_args must be a list of strings"),
        (#""text""#, "options must be a JSON object"),
    ])
    func badOptionsAreRefused(options: String, reason: String) {
        #expect(refusal(spec(.backup, paths: ["/srv"], options: options)) == reason)
    }

    @Test(arguments: ["0/5", "6/5", "a/b", "0%", "101%", "-5%", "%", "-1G", "10X", "", "1/2/3"])
    func badReadDataSubsetIsRefused(subset: String) {
        let reason = refusal(spec(.check, options: #"{"read_data_subset": "\#(subset)"}"#))
        #expect(reason?.hasPrefix("options.read_data_subset must be") == true, "\(subset)")
    }

    @Test(arguments: ["1/5", "5/5", "10%", "2.5%", "100%", "500M", "1g", "4096"])
    func goodReadDataSubsetIsAccepted(subset: String) throws {
        let arguments = try ResticCommandBuilder.arguments(
            for: spec(.check, options: #"{"read_data_subset": "\#(subset)"}"#)
        )
        #expect(arguments == ["check", "--read-data-subset=\(subset)"])
    }

    @Test func backupPathsAreChecked() {
        #expect(refusal(spec(.backup)) == "backup needs at least one path")
        #expect(
            refusal(spec(.backup, paths: ["/ok", "-rf"])) == #"backup path "-rf" starts with "-"; use an absolute path"#
        )
        #expect(refusal(spec(.backup, paths: ["--password-file=/x"]))?.contains("starts with \"-\"") == true)
        #expect(refusal(spec(.backup, paths: [""])) == "backup path must not be empty")
        #expect(refusal(spec(.backup, paths: ["/a\0b"])) == "backup path contains a NUL character")
        #expect(refusal(spec(.backup, paths: ["/a"], excludes: [""])) == "exclude pattern must not be empty")
        #expect(
            refusal(spec(.backup, paths: ["/a"], tags: ["a,b"]))
                == #"tag "a,b" contains a comma; restic would split it into several tags"#
        )
        #expect(refusal(spec(.backup, paths: ["/a"], tags: [""])) == "tag must not be empty")
    }

    @Test func restoreNeedsItsRequest() {
        #expect(refusal(spec(.restore, paths: ["/x"])) == "a restore needs a snapshot_id and a target")
    }
}

@Suite("ResticCommandBuilder environment")
struct ResticCommandBuilderEnvironmentTests {
    @Test func localRepository() {
        let repo = RepositoryConfig(url: "/srv/restic-repo", password: "s3cr3t pw")
        #expect(
            ResticCommandBuilder.environment(for: repo) == [
                "RESTIC_REPOSITORY": "/srv/restic-repo", "RESTIC_PASSWORD": "s3cr3t pw",
            ]
        )
    }

    @Test func restRepositoryGetsBasicAuthInTheURL() {
        let repo = RepositoryConfig(
            url: "rest:https://backup.example.com:8000/host1/",
            password: "repo-pw",
            username: "host1",
            credential: "p@ss:w/rd"
        )
        let environment = ResticCommandBuilder.environment(for: repo)
        #expect(environment["RESTIC_REPOSITORY"] == "rest:https://host1:p%40ss%3Aw%2Frd@backup.example.com:8000/host1/")
        #expect(environment["RESTIC_PASSWORD"] == "repo-pw")
        #expect(environment.count == 2)
    }

    @Test func restRepositoryReplacesUserinfoAndAllowsEmptyCredential() {
        let withOld = RepositoryConfig(url: "rest:http://old:old@h:1/", password: "p", username: "new", credential: "c")
        #expect(ResticCommandBuilder.environment(for: withOld)["RESTIC_REPOSITORY"] == "rest:http://new:c@h:1/")
        let userOnly = RepositoryConfig(url: "rest:http://h:1/", password: "p", username: "u")
        #expect(ResticCommandBuilder.environment(for: userOnly)["RESTIC_REPOSITORY"] == "rest:http://u@h:1/")
        let anonymous = RepositoryConfig(url: "rest:http://h:1/", password: "p")
        #expect(ResticCommandBuilder.environment(for: anonymous)["RESTIC_REPOSITORY"] == "rest:http://h:1/")
    }

    @Test func s3RepositoryGetsAWSVariables() {
        let repo = RepositoryConfig(
            url: "s3:http://127.0.0.1:9000/bucket",
            password: "p",
            username: "AKID",
            credential: "SECRET"
        )
        #expect(
            ResticCommandBuilder.environment(for: repo) == [
                "RESTIC_REPOSITORY": "s3:http://127.0.0.1:9000/bucket",
                "RESTIC_PASSWORD": "p",
                "AWS_ACCESS_KEY_ID": "AKID",
                "AWS_SECRET_ACCESS_KEY": "SECRET",
            ]
        )
    }

    @Test func b2AndAzureRepositories() {
        let b2 = RepositoryConfig(url: "b2:bucket:path", password: "p", username: "acct", credential: "key")
        #expect(ResticCommandBuilder.environment(for: b2)["B2_ACCOUNT_ID"] == "acct")
        #expect(ResticCommandBuilder.environment(for: b2)["B2_ACCOUNT_KEY"] == "key")
        let azure = RepositoryConfig(url: "azure:container:/", password: "p", username: "acct", credential: "key")
        #expect(ResticCommandBuilder.environment(for: azure)["AZURE_ACCOUNT_NAME"] == "acct")
        // A local path with a colon (Windows drive) is not a backend.
        let windows = RepositoryConfig(url: #"C:\restic"#, password: "p", username: "u", credential: "c")
        #expect(ResticCommandBuilder.environment(for: windows).count == 2)
    }

    @Test func noSecretEverReachesTheArguments() throws {
        let repo = RepositoryConfig(
            url: "rest:http://h:1/",
            password: "PW-123456",
            username: "u",
            credential: "CRED-987"
        )
        for kind in JobKind.allCases where kind != .restore {
            let job = spec(
                kind,
                paths: ["/data"],
                retention: #"{"keep_last": 1}"#,
                options: #"{"read_data_subset": "1/2"}"#
            )
            let arguments = try ResticCommandBuilder.arguments(for: job).joined(separator: " ")
            #expect(!arguments.contains("PW-123456") && !arguments.contains("CRED-987") && !arguments.contains("h:1"))
        }
        #expect(!repo.description.contains("PW-123456") && !repo.description.contains("CRED-987"))
        #expect(!String(reflecting: repo).contains("PW-123456"))
    }

    @Test func redactedURLHidesOnlyThePassword() {
        #expect(ResticCommandBuilder.redactedURL("rest:http://u:secret@h:1/p") == "rest:http://u:***@h:1/p")
        #expect(ResticCommandBuilder.redactedURL("rest:http://u@h:1/p") == "rest:http://u@h:1/p")
        #expect(ResticCommandBuilder.redactedURL("s3:https://h/b@x") == "s3:https://h/b@x")
        #expect(ResticCommandBuilder.redactedURL("/srv/repo") == "/srv/repo")
    }

    @Test func secretsIncludeTheirPercentEncodedForm() {
        let repo = RepositoryConfig(url: "rest:http://h/", password: "a b", username: "u", credential: "c/d")
        let secrets = Set(ResticCommandBuilder.secrets(of: repo))
        #expect(secrets == ["a b", "a%20b", "c/d", "c%2Fd"])
    }
}

@Suite("ResticVersion")
struct ResticVersionTests {
    @Test func parsesAndCompares() throws {
        #expect(ResticVersion("0.14.0") == ResticVersion(major: 0, minor: 14))
        #expect(ResticVersion("v0.16.4-dev") == ResticVersion(major: 0, minor: 16, patch: 4))
        #expect(ResticVersion("0.9") == ResticVersion(major: 0, minor: 9))
        #expect(ResticVersion("garbage") == nil)
        #expect(ResticVersion("1") == nil)
        #expect(try #require(ResticVersion("0.9.6")) < #require(ResticVersion("0.14.0")))
        #expect(ResticVersion("0.13.1")?.supportsCompression == false)
        #expect(ResticVersion("0.14.0")?.supportsCompression == true)
        #expect(ResticInstallation.parseVersion("restic 0.14.0 compiled with go1.19.8 on linux/amd64") == "0.14.0")
        #expect(ResticInstallation.parseVersion("something else") == nil)
    }
}
