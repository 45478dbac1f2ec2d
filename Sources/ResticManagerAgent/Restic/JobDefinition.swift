import ResticManagerProtocol
import ResticManagerCore

/// A `forget` job's `retention_policy`, checked.
///
/// Every field is optional; a count of 0 means "not set" (as in restic).
/// Unknown fields and wrong types are refused rather than ignored: a
/// retention policy that silently keeps less than the operator wrote
/// deletes backups.
struct RetentionPolicy: Sendable, Equatable {
    static let countFields: [(key: String, flag: String)] = [
        ("keep_last", "--keep-last"),
        ("keep_hourly", "--keep-hourly"),
        ("keep_daily", "--keep-daily"),
        ("keep_weekly", "--keep-weekly"),
        ("keep_monthly", "--keep-monthly"),
        ("keep_yearly", "--keep-yearly"),
    ]
    static let knownFields: Set<String> = Set(countFields.map(\.key)).union(["keep_within", "keep_tags", "prune"])

    /// `--keep-*` counts by field name (only the non-zero ones).
    var counts: [String: Int64] = [:]
    var keepWithin: String?
    var keepTags: [String] = []
    var prune = false

    /// Whether the policy keeps nothing in particular, so `restic forget`
    /// would remove every snapshot.
    var keepsNothing: Bool { counts.isEmpty && keepWithin == nil && keepTags.isEmpty }

    init(parsing raw: RawJSON?) throws(JobSpecError) {
        let members = try JobDefinitionJSON.object(raw, field: "retention_policy")
        for key in members.keys.sorted() where !Self.knownFields.contains(key) {
            throw JobSpecError(reason: "unknown retention_policy field \"\(key)\"")
        }
        for (key, _) in Self.countFields {
            guard let value = members[key], !value.isNull else { continue }
            guard case .integer(let count) = value, count >= 0 else {
                throw JobSpecError(reason: "retention_policy.\(key) must be a non-negative integer")
            }
            if count > 0 { counts[key] = count }
        }
        if let value = members["keep_within"], !value.isNull {
            guard let within = value.stringValue, within.isEmpty || Self.isResticDuration(within) else {
                throw JobSpecError(reason: "retention_policy.keep_within must be a duration like \"1y6m7d12h\"")
            }
            keepWithin = within.isEmpty ? nil : within
        }
        if let value = members["keep_tags"], !value.isNull {
            keepTags = try JobDefinitionJSON.strings(value, field: "retention_policy.keep_tags")
            if keepTags.contains(where: \.isEmpty) {
                throw JobSpecError(reason: "retention_policy.keep_tags must not contain an empty tag")
            }
        }
        if let value = members["prune"], !value.isNull {
            guard case .bool(let prune) = value else {
                throw JobSpecError(reason: "retention_policy.prune must be true or false")
            }
            self.prune = prune
        }
    }

    /// The `restic forget` flags, in a fixed order.
    var arguments: [String] {
        var arguments: [String] = []
        for (key, flag) in Self.countFields {
            if let count = counts[key] { arguments.append("\(flag)=\(count)") }
        }
        if let keepWithin { arguments.append("--keep-within=\(keepWithin)") }
        arguments += keepTags.map { "--keep-tag=\($0)" }
        if prune { arguments.append("--prune") }
        return arguments
    }

    /// restic's duration syntax: one or more `<number><y|m|d|h>`.
    static func isResticDuration(_ text: String) -> Bool {
        var sawDigit = false
        var sawUnit = false
        for character in text {
            if character.isASCII, character.isNumber {
                sawDigit = true
            } else if "ymdh".contains(character), sawDigit {
                sawDigit = false
                sawUnit = true
            } else {
                return false
            }
        }
        return sawUnit && !sawDigit
    }
}

/// A job's `options`, checked. Unknown options are refused: the server
/// validates them, so one it does not know means a newer server, and
/// running a job other than the one the operator defined is worse than
/// failing with a clear reason. Options that do not apply to a job's kind
/// (`read_data_subset` on a backup) are ignored.
struct JobOptions: Sendable, Equatable {
    static let knownFields: Set<String> = [
        "one_file_system", "exclude_caches", "limit_upload_kib", "limit_download_kib",
        "compression", "read_data_subset", "extra_args",
    ]
    static let compressionModes = ["auto", "max", "off"]

    var oneFileSystem = false
    var excludeCaches = false
    var limitUploadKiB: Int64?
    var limitDownloadKiB: Int64?
    var compression: String?
    var readDataSubset: String?
    var extraArgs: [String] = []

    init(parsing raw: RawJSON?) throws(JobSpecError) {
        let members = try JobDefinitionJSON.object(raw, field: "options")
        for key in members.keys.sorted() where !Self.knownFields.contains(key) {
            throw JobSpecError(reason: "unknown option \"\(key)\"")
        }
        oneFileSystem = try Self.flag(members["one_file_system"], field: "one_file_system")
        excludeCaches = try Self.flag(members["exclude_caches"], field: "exclude_caches")
        limitUploadKiB = try Self.rate(members["limit_upload_kib"], field: "limit_upload_kib")
        limitDownloadKiB = try Self.rate(members["limit_download_kib"], field: "limit_download_kib")
        if let value = members["compression"], !value.isNull {
            guard let mode = value.stringValue, Self.compressionModes.contains(mode) else {
                throw JobSpecError(reason: "options.compression must be one of auto, max, off")
            }
            compression = mode
        }
        if let value = members["read_data_subset"], !value.isNull {
            guard let subset = value.stringValue, Self.isReadDataSubset(subset) else {
                throw JobSpecError(
                    reason:
                        "options.read_data_subset must be \"n/t\" (e.g. \"1/5\"), a percentage (\"10%\") or a size (\"500M\")"
                )
            }
            readDataSubset = subset
        }
        if let value = members["extra_args"], !value.isNull {
            extraArgs = try JobDefinitionJSON.strings(value, field: "options.extra_args")
            if let bad = extraArgs.first(where: { $0.contains("\0") }) {
                throw JobSpecError(reason: "options.extra_args: \"\(bad)\" contains a NUL character")
            }
        }
    }

    private static func flag(_ value: JSONValue?, field: String) throws(JobSpecError) -> Bool {
        guard let value, !value.isNull else { return false }
        guard case .bool(let flag) = value else {
            throw JobSpecError(reason: "options.\(field) must be true or false")
        }
        return flag
    }

    private static func rate(_ value: JSONValue?, field: String) throws(JobSpecError) -> Int64? {
        guard let value, !value.isNull else { return nil }
        guard case .integer(let rate) = value, rate > 0 else {
            throw JobSpecError(reason: "options.\(field) must be a positive integer (KiB/s)")
        }
        return rate
    }

    /// `n/t` with 1 ≤ n ≤ t, `x%` / `x.y%` with 0 < x ≤ 100, or a size with
    /// an optional k/m/g/t suffix — what restic 0.14 accepts.
    static func isReadDataSubset(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard let n = Int(parts[0]), let t = Int(parts[1]) else { return false }
            return n >= 1 && n <= t
        }
        if text.hasSuffix("%") {
            let number = text.dropLast()
            guard number.first?.isNumber == true, let percent = Double(number) else { return false }
            return percent > 0 && percent <= 100
        }
        var digits = Substring(text)
        if let last = digits.last, "kKmMgGtT".contains(last) { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let size = Int(digits) else {
            return false
        }
        return size > 0
    }
}

/// Shared checks for the raw JSON fields of a job definition.
enum JobDefinitionJSON {
    /// The members of an object field; an absent or `null` field is empty.
    static func object(_ raw: RawJSON?, field: String) throws(JobSpecError) -> [String: JSONValue] {
        guard let raw, !raw.isNull else { return [:] }
        guard let tree = JSONValue.parse(raw.text) else {
            throw JobSpecError(reason: "\(field) is not valid JSON")
        }
        guard case .object(let members) = tree else {
            throw JobSpecError(reason: "\(field) must be a JSON object")
        }
        return members
    }

    static func strings(_ value: JSONValue, field: String) throws(JobSpecError) -> [String] {
        guard case .array(let items) = value else {
            throw JobSpecError(reason: "\(field) must be a list of strings")
        }
        var strings: [String] = []
        for item in items {
            guard let string = item.stringValue else {
                throw JobSpecError(reason: "\(field) must be a list of strings")
            }
            strings.append(string)
        }
        return strings
    }
}
