/// Where the store's transactions run: the embedded SQLite file, or a
/// PostgreSQL server shared by several replicas (SPEC §12).
///
/// Bodies are synchronous so that one body serves both engines; each engine
/// runs them off the caller's executor (GRDB on its own queues, PostgreSQL on
/// threads of its own) and the store's methods await the result.
public protocol StoreEngine: Sendable {
    var dialect: SQLDialect { get }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T

    /// One transaction: all of `body`'s writes commit together or not at all.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T
}
