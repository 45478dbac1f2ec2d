import Foundation

/// A throwaway PostgreSQL server for one benchmark run: `initdb` into a
/// temporary folder, `pg_ctl start` on a loopback port with password
/// (SCRAM) authentication, so the bench connects the way a replica would,
/// and `pg_ctl stop` at the end.
///
/// PostgreSQL refuses to run as root; as root the cluster is made and run
/// as Debian's `postgres` user (`runuser`), in a folder it owns.
struct PostgresCluster {
    static let user = "bench"
    static let databaseName = "bench"

    let directory: URL
    let port: Int
    let password: String
    private let asPostgresUser: Bool

    /// `postgres://` URL of the running server, with the password in it.
    var url: String { "postgres://\(Self.user):\(password)@127.0.0.1:\(port)/\(Self.databaseName)" }

    static func start(in parent: URL) async throws -> PostgresCluster {
        let binDirectory = try Self.binDirectory()
        let directory = parent.appendingPathComponent("postgres")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let password = UUID().uuidString
        let passwordFile = parent.appendingPathComponent("pgpass")
        try password.write(to: passwordFile, atomically: true, encoding: .utf8)
        let asPostgresUser = getuid() == 0
        if asPostgresUser {
            try await Self.run("/bin/chown", ["postgres:postgres", directory.path, passwordFile.path])
        }
        let port = try Self.freePort()
        let cluster = PostgresCluster(directory: directory, port: port, password: password, asPostgresUser: asPostgresUser)
        try await cluster.run(binDirectory + "/initdb", [
            "-D", directory.appendingPathComponent("data").path, "-U", user, "--auth=scram-sha-256",
            "--pwfile=\(passwordFile.path)", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        ])
        try? FileManager.default.removeItem(at: passwordFile)
        // Sockets in the cluster's own folder, not /var/run/postgresql (root's).
        try await cluster.run(binDirectory + "/pg_ctl", [
            "-D", directory.appendingPathComponent("data").path, "-l", directory.appendingPathComponent("server.log").path,
            "-o", "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c max_connections=200",
            "-w", "start",
        ])
        try await cluster.run(binDirectory + "/createdb", ["-h", directory.path, "-p", "\(port)", "-U", user, databaseName],
                        environment: ["PGPASSWORD": password])
        return cluster
    }

    func stop() async {
        guard let binDirectory = try? Self.binDirectory() else { return }
        try? await run(binDirectory + "/pg_ctl", ["-D", directory.appendingPathComponent("data").path, "-m", "fast", "-w", "stop"])
    }

    /// A loopback port nothing listens on now: the kernel's pick for port 0.
    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw PostgresError("socket() failed: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard bound else { throw PostgresError("no free loopback port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Debian installs each major version's programs under its own folder.
    private static func binDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw PostgresError("not installed (no \(root)/<version>/bin): apt-get install postgresql")
        }
        return "\(root)/\(newest)/bin"
    }

    private func run(_ program: String, _ arguments: [String], environment: [String: String] = [:]) async throws {
        if asPostgresUser {
            let assignments = environment.map { "\($0.key)=\($0.value)" }
            try await Self.run("/sbin/runuser", ["-u", "postgres", "--", "/usr/bin/env"] + assignments + [program] + arguments)
        } else {
            try await Self.run(program, arguments, environment: environment)
        }
    }

    private static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:]) async throws {
        // posix_spawn and a blocking waitpid on a thread of its own: with
        // Foundation's Process, the exit of `runuser … pg_ctl start` (whose
        // server lives on) was never reported, and the bench waited forever.
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let status = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            Thread {
                continuation.resume(with: Result { try spawnAndWait(program, arguments, variables, outputPath: outputPath) })
            }.start()
        }
        guard status == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw PostgresError("\((program as NSString).lastPathComponent) failed (\(status)): \(text)")
        }
    }

    private static func spawnAndWait(_ program: String, _ arguments: [String], _ variables: [String], outputPath: String)
        throws -> Int32
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, envp)
        guard spawned == 0 else { throw PostgresError("cannot start \(program): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw PostgresError("waitpid failed: errno \(errno)") }
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import as functions.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// What went wrong with PostgreSQL or a driver, in words a user can act on.
struct PostgresError: Error, CustomStringConvertible {
    let description: String

    init(_ why: String) { description = "PostgreSQL: \(why)" }
}
