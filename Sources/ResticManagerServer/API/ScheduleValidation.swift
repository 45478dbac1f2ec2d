import Foundation
import ResticManagerCore
import ResticManagerProtocol

/// Checks a schedule as an operator submitted it and turns it into a
/// `ScheduleDefinition`. Everything an agent could choke on is refused here,
/// with the field and the reason (SPEC §5, §6.2).
enum ScheduleValidation {
    static let schedulableKinds: Set<JobKind> = [.backup, .forget, .prune, .check, .unlock]
    static let retentionCounts = ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"]
    static let maxListItems = 1000

    static func definition(
        kind kindText: String, cronExpr: String, paths: [String]?, excludes: [String]?, tags: [String]?,
        retentionPolicy: JSONValue?, options: JSONValue?, preHook: String?, postHook: String?, enabled: Bool?,
        extraArgsAllowed: Bool, hooksAllowed: Bool
    ) throws -> ScheduleDefinition {
        guard let kind = JobKind(rawValue: kindText), schedulableKinds.contains(kind) else {
            throw APIError.validation("kind", "must be one of backup, forget, prune, check, unlock")
        }
        do {
            _ = try CronExpression(cronExpr)
        } catch {
            throw APIError.validation("cron_expr", error.description)
        }
        let paths = try list(paths ?? [], field: "paths")
        if kind == .backup, paths.isEmpty { throw APIError.validation("paths", "a backup needs at least one path") }
        // Like run-now `args`: a path must never reach restic as a flag.
        if let bad = paths.firstIndex(where: { $0.hasPrefix("-") }) {
            throw APIError.validation("paths[\(bad)]", "must be a path, not a flag")
        }
        let excludes = try list(excludes ?? [], field: "excludes")
        let tags = try list(tags ?? [], field: "tags")
        if let bad = tags.firstIndex(where: { $0.contains(",") }) {
            throw APIError.validation("tags[\(bad)]", "must not contain a comma")
        }
        let retention = try retentionPolicy.flatMap { try validateRetention($0) }
        if kind == .forget, retention == nil {
            throw APIError.validation(
                "retention_policy", "a forget needs at least one keep_* rule; an empty policy would delete every snapshot")
        }
        let optionsText = try options.flatMap { try validateOptions($0, extraArgsAllowed: extraArgsAllowed) }
        let preHook = try hook(preHook, field: "pre_hook", allowed: hooksAllowed)
        let postHook = try hook(postHook, field: "post_hook", allowed: hooksAllowed)
        return ScheduleDefinition(
            kind: kind, cronExpr: cronExpr.trimmingCharacters(in: .whitespaces), paths: paths, excludes: excludes,
            tags: tags, retentionPolicy: retention, options: optionsText, preHook: preHook, postHook: postHook,
            enabled: enabled ?? true)
    }

    private static func list(_ values: [String], field: String) throws -> [String] {
        guard values.count <= maxListItems else {
            throw APIError.validation(field, "must have at most \(maxListItems) entries")
        }
        for (index, value) in values.enumerated() {
            if value.isEmpty { throw APIError.validation("\(field)[\(index)]", "must not be empty") }
            if value.utf8.count > 4096 { throw APIError.validation("\(field)[\(index)]", "must be at most 4096 bytes") }
            if value.contains(where: { $0.isNewline || $0 == "\0" }) {
                throw APIError.validation("\(field)[\(index)]", "must be a single line")
            }
        }
        return values
    }

    private static func hook(_ value: String?, field: String, allowed: Bool) throws -> String {
        guard let value, !value.isEmpty else { return "" }
        guard allowed else {
            throw APIError.forbidden("\(field): only admins may set hooks; they run commands on the host")
        }
        guard value.utf8.count <= 16384 else { throw APIError.validation(field, "must be at most 16384 bytes") }
        return value
    }

    /// Returns the canonical JSON text of a non-empty policy, nil for an empty one.
    static func validateRetention(_ value: JSONValue) throws -> String? {
        guard case .object(let members) = value else {
            if value == .null { return nil }
            throw APIError.validation("retention_policy", "must be an object")
        }
        var keeps = 0
        for (key, member) in members {
            let field = "retention_policy.\(key)"
            switch key {
            case _ where retentionCounts.contains(key):
                guard let number = member.int64Value, number >= 0, number <= 1_000_000
                else { throw APIError.validation(field, "must be a whole number from 0 to 1000000") }
                if number > 0 { keeps += 1 }
            case "keep_within":
                guard case .string(let text) = member,
                    text.range(of: #"^([0-9]+[ymdh])+$"#, options: .regularExpression) != nil
                else { throw APIError.validation(field, "must be a restic duration such as 7d or 1y6m") }
                keeps += 1
            case "keep_tags":
                guard case .array(let items) = member, !items.isEmpty, items.count <= 100,
                    items.allSatisfy({ if case .string(let tag) = $0 { !tag.isEmpty && tag.count <= 256 } else { false } })
                else { throw APIError.validation(field, "must be a non-empty array of tag strings") }
                keeps += 1
            case "prune":
                guard case .bool = member else { throw APIError.validation(field, "must be true or false") }
            default:
                throw APIError.validation(field, "is not a retention rule; use keep_last, keep_hourly, keep_daily, "
                    + "keep_weekly, keep_monthly, keep_yearly, keep_within, keep_tags or prune")
            }
        }
        return keeps == 0 ? nil : value.canonicalText
    }

    static func validateOptions(_ value: JSONValue, extraArgsAllowed: Bool) throws -> String? {
        guard case .object(let members) = value else {
            if value == .null { return nil }
            throw APIError.validation("options", "must be an object")
        }
        for (key, member) in members {
            let field = "options.\(key)"
            switch key {
            case "one_file_system", "exclude_caches":
                guard case .bool = member else { throw APIError.validation(field, "must be true or false") }
            case "limit_upload_kib", "limit_download_kib":
                guard let number = member.int64Value, number >= 1, number <= 1_000_000_000 else {
                    throw APIError.validation(field, "must be a whole number of KiB/s from 1 to 1000000000")
                }
            case "compression":
                guard case .string(let mode) = member, ["auto", "max", "off"].contains(mode) else {
                    throw APIError.validation(field, "must be auto, max or off")
                }
            case "read_data_subset":
                guard case .string(let subset) = member,
                    subset.range(of: #"^([0-9]+(\.[0-9]+)?%|[0-9]+/[0-9]+|[0-9]+[KMGT]?)$"#, options: .regularExpression)
                        != nil
                else { throw APIError.validation(field, "must be like 10%, 1/5 or 500M") }
            case "extra_args":
                guard extraArgsAllowed else {
                    throw APIError.forbidden("\(field): only admins may set or change extra_args")
                }
                guard case .array(let items) = member, items.count <= 64,
                    items.allSatisfy({ if case .string(let arg) = $0 { arg.utf8.count <= 4096 } else { false } })
                else { throw APIError.validation(field, "must be an array of at most 64 strings") }
            default:
                throw APIError.validation(field, "is not a known option; use one_file_system, exclude_caches, "
                    + "limit_upload_kib, limit_download_kib, compression, read_data_subset or extra_args")
            }
        }
        return members.isEmpty ? nil : value.canonicalText
    }
}
