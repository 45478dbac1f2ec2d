// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "restic-manager",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "restic-manager-server", targets: ["restic-manager-server"]),
        .executable(name: "restic-manager-agent", targets: ["restic-manager-agent"]),
        .library(name: "ResticManagerProtocol", targets: ["ResticManagerProtocol"]),
        .library(name: "ResticManagerCore", targets: ["ResticManagerCore"]),
        // For bench/store-drivers, a package of its own: the migrated schema and the benchmarks' helpers.
        .library(name: "ResticManagerServer", targets: ["ResticManagerServer"]),
        .library(name: "BenchSupport", targets: ["BenchSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The shared store of several replicas (SPEC §12; docs/postgresql.md says why this one).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // Wire types shared by server and agent. No dependencies on purpose:
        // the agent must be able to link it without pulling in the server.
        .target(name: "ResticManagerProtocol"),
        // Domain logic shared by server and agent (cron).
        .target(name: "ResticManagerCore"),
        // `--log-format`/`--log-level` and the JSON log handler, shared by both binaries.
        .target(
            name: "ResticManagerLogging",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CArgon2", pkgConfig: "libargon2", providers: [.apt(["libargon2-dev"])]),
        .target(name: "ResticManagerCrypto", dependencies: ["CSodium", "CArgon2"]),
        .target(
            name: "ResticManagerServer",
            dependencies: [
                "ResticManagerProtocol",
                "ResticManagerCore",
                "ResticManagerCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
                // Webhooks and ping URLs.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Templates, stylesheet and script are compiled into the binary:
            // a copied server needs no asset folder.
            resources: [.embedInCode("Web/Resources")]
        ),
        .executableTarget(
            name: "restic-manager-server",
            dependencies: [
                "ResticManagerServer",
                "ResticManagerLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The agent links the protocol and the shared cron code, never the server.
        .target(
            name: "ResticManagerAgent",
            dependencies: [
                "ResticManagerProtocol",
                "ResticManagerCore",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "restic-manager-agent",
            dependencies: [
                "ResticManagerAgent",
                "ResticManagerLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Log-ingest and fleet benchmarks (scripts/bench-ingest, scripts/bench-fleet).
        // Links the server for its migrator, which gives the baselines and the
        // seeded fleet the very same schema on either engine, and for the store
        // methods that make the baselines' hosts and jobs; the crypto module for
        // the seeded agent tokens' hashes; postgres-nio for the PostgreSQL
        // baselines, raw reads and databases. Its simulated agents speak
        // WebSocket through a minimal client of their own, so the load
        // generator costs the machine little.
        .executableTarget(
            name: "restic-manager-bench",
            dependencies: [
                "ResticManagerProtocol",
                "ResticManagerServer",
                "ResticManagerCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "BenchSupport",
            ]
        ),
        // What the benchmarks share, here and in bench/store-drivers (its own
        // package, so the libraries it compares cost no one else a build).
        .target(name: "BenchSupport"),
        // Envelope decoding against JSONDecoder (scripts/bench-codec).
        .executableTarget(name: "restic-manager-codec-bench", dependencies: ["ResticManagerProtocol"]),
        .testTarget(
            name: "ResticManagerAgentTests",
            dependencies: ["ResticManagerAgent", .product(name: "AsyncAlgorithms", package: "swift-async-algorithms")]
        ),
        .testTarget(name: "ResticManagerProtocolTests", dependencies: ["ResticManagerProtocol"]),
        .testTarget(name: "ResticManagerCoreTests", dependencies: ["ResticManagerCore"]),
        .testTarget(name: "ResticManagerCryptoTests", dependencies: ["ResticManagerCrypto"]),
        .testTarget(
            name: "ResticManagerServerTests",
            dependencies: [
                "ResticManagerServer",
                // Only for StatsPassThroughTests: agent outbox to server row.
                "ResticManagerAgent",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                // Only for TestDatabases: CREATE DATABASE on the scratch server.
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ]
)
