import Foundation
import ResticManagerCore
import ResticManagerProtocol

/// The one place where a job becomes restic's command line and
/// environment.
///
/// Arguments never carry a secret: the repository location, its password
/// and backend credentials travel only in the child's environment
/// (``environment(for:)``), so they never show up in `ps`, in
/// `/proc/<pid>/cmdline` or in the job log's command line. The server's
/// `args` never become flags: only the checked fields of ``JobSpec`` do,
/// plus the admin-only `extra_args` option.
public enum ResticCommandBuilder {
    /// restic's arguments for `spec`, assuming a restic that supports every
    /// option (0.14 or newer).
    public static func arguments(for spec: JobSpec) throws(JobSpecError) -> [String] {
        try arguments(for: spec, resticVersion: nil)
    }

    /// restic's arguments for `spec` on a given restic release; options the
    /// release does not know (`--compression` before 0.14) are left out
    /// (see ``ignoredOptions(for:resticVersion:)``). A nil version means
    /// "recent enough for everything".
    ///
    /// Layout: `<command> [--json] <command flags> <global flags>
    /// <extra_args> [-- <paths>]`, so `extra_args` comes after everything
    /// the agent built and can never be read as a path.
    public static func arguments(for spec: JobSpec, resticVersion: ResticVersion?) throws(JobSpecError) -> [String] {
        let options = try JobOptions(parsing: spec.options)
        var arguments: [String]
        var paths: [String] = []
        var compresses = false

        switch spec.kind {
        case .backup:
            try checkBackupFields(spec)
            arguments = ["backup", "--json"]
            if options.oneFileSystem { arguments.append("--one-file-system") }
            if options.excludeCaches { arguments.append("--exclude-caches") }
            arguments += spec.excludes.map { "--exclude=\($0)" }
            arguments += spec.tags.map { "--tag=\($0)" }
            paths = spec.paths
            compresses = true
        case .forget:
            let policy = try RetentionPolicy(parsing: spec.retentionPolicy)
            guard !policy.keepsNothing else {
                throw JobSpecError(reason: "forget with an empty retention policy would delete every snapshot")
            }
            arguments = ["forget", "--json"] + policy.arguments
            compresses = policy.prune
        case .check:
            arguments = ["check"]
            if let subset = options.readDataSubset { arguments.append("--read-data-subset=\(subset)") }
        case .prune:
            arguments = ["prune"]
            compresses = true
        case .unlock:
            arguments = ["unlock"]
        case .`init`:
            arguments = ["init"]
        case .restore:
            arguments = try restoreArguments(spec.restore)
        }

        if compresses, let compression = options.compression, resticVersion?.supportsCompression ?? true {
            arguments.append("--compression=\(compression)")
        }
        if let rate = options.limitUploadKiB { arguments.append("--limit-upload=\(rate)") }
        if let rate = options.limitDownloadKiB { arguments.append("--limit-download=\(rate)") }
        arguments += options.extraArgs
        if !paths.isEmpty { arguments += ["--"] + paths }
        return arguments
    }

    /// Options of `spec` that ``arguments(for:resticVersion:)`` leaves out
    /// on this restic release, as messages for the job log.
    public static func ignoredOptions(for spec: JobSpec, resticVersion: ResticVersion?) -> [String] {
        guard let version = resticVersion, !version.supportsCompression,
            let options = try? JobOptions(parsing: spec.options), options.compression != nil
        else { return [] }
        return [
            "option compression ignored: restic \(version) does not support it (needs \(ResticVersion.compressionSupport) or newer)"
        ]
    }

    /// The variables restic needs, to be set in its environment only:
    /// `RESTIC_REPOSITORY` and `RESTIC_PASSWORD`, plus the backend
    /// credentials. For `rest:` the username and credential become HTTP
    /// basic auth inside `RESTIC_REPOSITORY`'s URL (restic has no other way
    /// to take them); for `s3:` they are `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY`, for `b2:` `B2_ACCOUNT_ID` / `B2_ACCOUNT_KEY`,
    /// for `azure:` `AZURE_ACCOUNT_NAME` / `AZURE_ACCOUNT_KEY`.
    public static func environment(for repo: RepositoryConfig) -> [String: String] {
        var environment = [
            "RESTIC_REPOSITORY": repositoryLocation(for: repo),
            "RESTIC_PASSWORD": repo.password,
        ]
        let credentialVariables: (user: String, secret: String)? =
            switch backend(of: repo.url) {
            case "s3": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
            case "b2": ("B2_ACCOUNT_ID", "B2_ACCOUNT_KEY")
            case "azure": ("AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_KEY")
            default: nil
            }
        if let credentialVariables {
            if !repo.username.isEmpty { environment[credentialVariables.user] = repo.username }
            if !repo.credential.isEmpty { environment[credentialVariables.secret] = repo.credential }
        }
        return environment
    }

    /// Inherited variables that would make restic read the repository or
    /// its password from somewhere other than ``environment(for:)``.
    static let conflictingVariables = [
        "RESTIC_REPOSITORY_FILE", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND",
    ]

    /// `repo.url` with basic auth for `rest:` repositories that have a
    /// username: `rest:https://user:secret@host/path`, both parts
    /// percent-encoded. Any userinfo already in the URL is replaced.
    static func repositoryLocation(for repo: RepositoryConfig) -> String {
        guard backend(of: repo.url) == "rest", !repo.username.isEmpty else { return repo.url }
        let address = String(repo.url.dropFirst("rest:".count))
        guard var components = URLComponents(string: address), components.host != nil else { return repo.url }
        components.percentEncodedUser = repo.username.percentEncodedUnreserved
        components.percentEncodedPassword = repo.credential.isEmpty ? nil : repo.credential.percentEncodedUnreserved
        guard let withAuth = components.string else { return repo.url }
        return "rest:" + withAuth
    }

    /// A repository location fit for logs and error messages: any password
    /// in a URL's userinfo becomes `***`.
    public static func redactedURL(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userinfo = authority[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return url }
        return String(url[..<userinfo.index(after: colon)]) + "***" + String(url[at...])
    }

    /// The backend prefix of a repository location (`rest`, `s3`, …), or
    /// `local` for a plain path.
    static func backend(of url: String) -> String {
        let knownBackends = ["rest", "s3", "b2", "azure", "gs", "sftp", "swift", "rclone", "local"]
        guard let colon = url.firstIndex(of: ":") else { return "local" }
        let prefix = String(url[..<colon])
        return knownBackends.contains(prefix) ? prefix : "local"
    }

    /// The strings that must be scrubbed from output for `repo`: the
    /// password and credential, also as they appear percent-encoded in a
    /// `rest:` URL.
    static func secrets(of repo: RepositoryConfig) -> [String] {
        var secrets = repo.secrets
        for secret in repo.secrets {
            let encoded = secret.percentEncodedUnreserved
            if encoded != secret { secrets.append(encoded) }
        }
        return secrets
    }

    /// `restore SNAPSHOT --json --target=T [--include=…] [--verify]`. restic
    /// reads `--include` as a pattern, so `*?[\` in a path are escaped and
    /// a name with them restores only itself. `--json` gives progress from
    /// restic 0.16 on; 0.14 ignores it.
    private static func restoreArguments(_ restore: RestoreRequest?) throws(JobSpecError) -> [String] {
        guard let restore else { throw JobSpecError(reason: "a restore needs a snapshot_id and a target") }
        if let problem = RestoreArguments.problem(restore) { throw JobSpecError(reason: "bad \(problem)") }
        var arguments = ["restore", restore.snapshotID, "--json", "--target=\(restore.target)"]
        arguments += restore.include.map { "--include=\(escapePattern($0))" }
        if restore.verify { arguments.append("--verify") }
        return arguments
    }

    /// A literal path as a restic filter pattern (Go's `filepath.Match`).
    static func escapePattern(_ path: String) -> String {
        var escaped = ""
        for character in path {
            if "*?[\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    private static func checkBackupFields(_ spec: JobSpec) throws(JobSpecError) {
        guard !spec.paths.isEmpty else {
            throw JobSpecError(reason: "backup needs at least one path")
        }
        for path in spec.paths {
            if path.isEmpty { throw JobSpecError(reason: "backup path must not be empty") }
            if path.hasPrefix("-") {
                throw JobSpecError(reason: "backup path \"\(path)\" starts with \"-\"; use an absolute path")
            }
            if path.contains("\0") { throw JobSpecError(reason: "backup path contains a NUL character") }
        }
        for pattern in spec.excludes {
            if pattern.isEmpty { throw JobSpecError(reason: "exclude pattern must not be empty") }
            if pattern.contains("\0") { throw JobSpecError(reason: "exclude pattern contains a NUL character") }
        }
        for tag in spec.tags {
            if tag.isEmpty { throw JobSpecError(reason: "tag must not be empty") }
            if tag.contains(",") {
                throw JobSpecError(reason: "tag \"\(tag)\" contains a comma; restic would split it into several tags")
            }
            if tag.contains("\0") { throw JobSpecError(reason: "tag contains a NUL character") }
        }
    }
}
