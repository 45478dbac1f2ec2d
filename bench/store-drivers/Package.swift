// swift-tools-version:6.2
import PackageDescription

// The store libraries compared (scripts/bench-store-drivers): a package of its
// own, so that postgres-nio, PostgresKit and SQLiteKit (with swift-crypto's
// BoringSSL and a vendored SQLite) are built only by whoever runs this
// comparison, not by every build and CI run of the product.
let package = Package(
    name: "store-drivers-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, because a path dependency is otherwise known by its folder's name.
        .package(name: "restic-manager", path: "../.."),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
    ],
    targets: [
        .executableTarget(
            name: "store-drivers-bench",
            dependencies: [
                .product(name: "ResticManagerServer", package: "restic-manager"),
                .product(name: "BenchSupport", package: "restic-manager"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
            ]
        ),
    ]
)
