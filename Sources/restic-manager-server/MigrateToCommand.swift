import ArgumentParser
import Foundation
import ResticManagerLogging
import ResticManagerServer

/// `migrate-to --database postgres://…` (SPEC §12): moves an SQLite
/// installation to PostgreSQL.
struct MigrateTo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-to",
        abstract: "Copy the SQLite database of --data-dir into an empty PostgreSQL database. Stop the server first.",
        discussion: """
            Stop the server (it refuses to run while another process has the SQLite file open) and back up the \
            data dir first. Every row is copied in one PostgreSQL transaction, into a database that must be empty: \
            a failed copy keeps nothing there, and a database that already holds data is refused. The SQLite file \
            is only read. Afterwards each table's rows are counted on both sides.

            Then start every replica with `serve --database` and a copy of the data dir's secret.key: the sealed \
            secrets (repository passwords, channel secrets) need the same key.
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var logOptions: LogOptions

    func validate() throws {
        guard store.database != nil else {
            throw ValidationError(
                "--database is required: the empty PostgreSQL database to copy into, postgres://USER@HOST[:PORT]/DATABASE"
            )
        }
    }

    func run() async throws {
        let logger = logOptions.bootstrap(label: "restic-manager", to: .standardError)
        guard let postgres = try store.location().postgres else {
            preconditionFailure("validate() requires --database")
        }
        let sqlite = StoreCopy.sqlitePath(dataDirectory: store.dataDir)
        print("copying \(sqlite) into \(postgres)")
        let report: StoreCopyReport
        do {
            report = try await StoreCopy.sqliteToPostgres(
                dataDirectory: store.dataDir,
                postgres: postgres,
                logger: logger
            ) {
                print("  \($0.name): \($0.rows) rows copied")
            }
        } catch let error as StoreCopyError {
            throw MigrateToFailure(error.description)
        } catch let error as ServerStartError {
            throw MigrateToFailure(error.description)
        } catch let error as StoreError {
            throw MigrateToFailure(error.description)
        }
        printVerification(report)
        let elapsed = report.elapsed.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1)))
        print(
            """
            done: \(report.rows) rows in \(report.tables.count) tables in \(elapsed); \(sqlite) is unchanged.
            next: start every replica with `serve --database \(postgres)` and a copy of \(store.dataDir)/secret.key
            """
        )
    }

    private func printVerification(_ report: StoreCopyReport) {
        print("verified, rows per table:")
        let width = report.tables.map(\.name.count).max() ?? 0
        print("  " + "TABLE".padding(toLength: width, withPad: " ", startingAt: 0) + "  SQLITE  POSTGRESQL")
        for table in report.tables {
            print(
                "  " + table.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + "  " + "\(table.sourceRows)".leftPadded(6) + "  " + "\(table.targetRows)".leftPadded(10)
            )
        }
    }
}

/// A failure of `migrate-to`, printed as `Error: <reason>` without the
/// usage text: the flags were fine.
struct MigrateToFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
