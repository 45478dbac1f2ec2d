/// What `command.run` may carry besides its kind (SPEC §5): `args` are the
/// paths of an ad-hoc backup and nothing else, never restic flags. The
/// server checks a run-now request with this before it queues the job; the
/// agent checks every `command.run` with it again, whatever the server said.
public enum RunArguments {
    public static let maxPaths = 1000
    public static let maxPathBytes = 4096

    /// Why a run's arguments are refused: the field as the API names it,
    /// and the reason in words.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let field: String
        public let reason: String

        public var description: String { "\(field): \(reason)" }
    }

    /// The first problem with `args` for a run of `kind`, nil when they are fine.
    public static func problem(kind: JobKind, args: [String], hasSchedule: Bool) -> Problem? {
        if hasSchedule {
            return args.isEmpty ? nil
                : Problem(field: "args", reason: "must be empty when schedule_id is given; the schedule has the paths")
        }
        guard kind == .backup else {
            if !args.isEmpty {
                return Problem(field: "args", reason: "must be empty for \(kind.rawValue); args are only allowed for backup")
            }
            if kind == .forget {
                return Problem(field: "schedule_id",
                               reason: "a forget needs a schedule_id: its retention policy says what to keep")
            }
            return nil
        }
        guard !args.isEmpty else { return Problem(field: "args", reason: "an ad-hoc backup needs at least one path") }
        guard args.count <= maxPaths else { return Problem(field: "args", reason: "must have at most \(maxPaths) paths") }
        for (index, path) in args.enumerated() {
            if path.isEmpty || path.utf8.count > maxPathBytes || path.contains(where: { $0.isNewline || $0 == "\0" }) {
                return Problem(field: "args[\(index)]", reason: "must be a single-line path of 1 to \(maxPathBytes) bytes")
            }
            if path.hasPrefix("-") {
                return Problem(field: "args[\(index)]",
                               reason: "\"\(path.prefix(64))\" is not a path but a flag; args are paths only")
            }
        }
        return nil
    }
}
