import Foundation

/// Work that runs once per fleet, not once per replica (SPEC §12).
enum FleetWork: String, Sendable {
    case alertEvaluation = "alert_evaluation"
    case retention
}

/// Whether this replica is the one doing a piece of once-per-fleet work:
/// the holder of its lease in the store. The only server on a store of its
/// own always is. A replica that dies stops renewing, and another takes the
/// work over once the lease has run out.
struct FleetLease: Sendable {
    let database: AppDatabase
    let work: FleetWork
    let replica: ReplicaID
    /// Longer than the time between two passes of the work, so the holder
    /// renews it before it runs out.
    let duration: Duration

    /// Takes or renews the lease; false while another replica holds it, or
    /// when the store cannot be reached (the work would fail anyway).
    func isHeld() async -> Bool {
        guard database.isShared else { return true }
        return (try? await database.holdLease(
            work.rawValue, holder: replica, until: Date().addingTimeInterval(duration.timeInterval))) ?? false
    }
}
