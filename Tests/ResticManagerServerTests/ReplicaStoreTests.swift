import Foundation
import ResticManagerCrypto
import ResticManagerProtocol
import Testing

@testable import ResticManagerServer

/// What replicas sharing one store rely on (SPEC §12), on either engine: the
/// key seal, leases on once-per-fleet work and on hosts, and claims on
/// notifications being sent.
@Suite struct ReplicaStoreTests {
    let ingest = IngestTests()

    func box(_ byte: UInt8) throws -> SecretBox {
        SecretBox(key: try SecretKey(bytes: Array(repeating: byte, count: SecretKey.byteCount)))
    }

    @Test func theFirstKeySealsTheStoreAndAnotherKeyIsRefused() async throws {
        let database = try await AppDatabase.forTest()
        #expect(try await database.keyMatchesSeal(box(1)))
        #expect(try await database.keyMatchesSeal(box(1)))
        #expect(try await database.keyMatchesSeal(box(2)) == false)
        // A refused key does not reseal: the right one still matches.
        #expect(try await database.keyMatchesSeal(box(1)))
    }

    @Test func aLeaseIsHeldByOneReplicaUntilItRunsOut() async throws {
        let database = try await AppDatabase.forTest()
        let (a, b) = (ReplicaID.random(), ReplicaID.random())
        let now = Date()
        #expect(try await database.holdLease("work", holder: a, until: now + 60, now: now))
        #expect(try await database.holdLease("work", holder: b, until: now + 60, now: now) == false)
        // The holder renews; others still wait.
        #expect(try await database.holdLease("work", holder: a, until: now + 120, now: now + 30))
        #expect(try await database.holdLease("work", holder: b, until: now + 150, now: now + 90) == false)
        // Once it has run out, another replica takes it, and the old holder is out.
        #expect(try await database.holdLease("work", holder: b, until: now + 181, now: now + 121))
        #expect(try await database.holdLease("work", holder: a, until: now + 182, now: now + 122) == false)
        // Other work has leases of its own.
        #expect(try await database.holdLease("other", holder: a, until: now + 182, now: now + 122))
    }

    func hello() -> HelloPayload {
        HelloPayload(agentVersion: "1.0.0", resticVersion: "0.16.4", hostname: "a", os: "linux", arch: "amd64")
    }

    func connected(_ database: AppDatabase, _ host: HostID) async throws -> Bool {
        try #require(try await database.host(id: host)).connected
    }

    @Test func aHostThatMovedToAnotherReplicaStaysOnlineWhenTheOldSocketEnds() async throws {
        let (database, host, _) = try await ingest.fixture()
        let (a, b) = (ReplicaID.random(), ReplicaID.random())
        let lease = Date().addingTimeInterval(60)
        try await database.recordHello(hostID: host, hello: hello(), ip: "", replica: a, leaseUntil: lease)
        try await database.recordHello(hostID: host, hello: hello(), ip: "", replica: b, leaseUntil: lease)
        try await database.markDisconnected(hostID: host, lastSeenAt: Date(), replica: a)
        #expect(try await connected(database, host))
        try await database.markDisconnected(hostID: host, lastSeenAt: Date(), replica: b)
        #expect(try await connected(database, host) == false)
    }

    @Test func hostsOfAReplicaThatStoppedRenewingGoOffline() async throws {
        let (database, host, _) = try await ingest.fixture()
        let second = try #require(try await ingest.enrolledHost(database, hostname: "b"))
        let (dead, alive) = (ReplicaID.random(), ReplicaID.random())
        let now = Date()
        try await database.recordHello(hostID: host, hello: hello(), ip: "", replica: dead, leaseUntil: now + 60)
        try await database.recordHello(hostID: second, hello: hello(), ip: "", replica: alive, leaseUntil: now + 60)
        #expect(try await database.expireHostLeases(now: now + 30) == 0)
        try await database.renewHostLeases(replica: alive, until: now + 120)
        #expect(try await database.expireHostLeases(now: now + 90) == 1)
        #expect(try await connected(database, host) == false)
        #expect(try await connected(database, second))
        // Its agent reconnects to the live replica: online again, and held.
        try await database.recordHello(hostID: host, hello: hello(), ip: "", replica: alive, leaseUntil: now + 150)
        #expect(try await database.expireHostLeases(now: now + 100) == 0)
        #expect(try await connected(database, host))
    }

    @Test func aNotificationIsClaimedByOneSenderAtATime() async throws {
        let (database, host, _) = try await ingest.fixture()
        _ = try await AlertStoreTests().webhookChannel(database)
        let rules = try await database.alertRules()
        _ = try await database.applyAlerts(AlertStoreTests().condition(.hostOffline, host), rules: rules)
        let now = Date().addingTimeInterval(1)
        let first = try await database.claimDueNotifications(now: now, limit: 10, claim: .seconds(120))
        #expect(first.count == 1)
        #expect(try await database.claimDueNotifications(now: now, limit: 10, claim: .seconds(120)).isEmpty)
        // A sender that died mid-send leaves the row to the others once its claim runs out.
        let later = try await database.claimDueNotifications(
            now: now.addingTimeInterval(121), limit: 10, claim: .seconds(120))
        #expect(later.map(\.notification.id) == first.map(\.notification.id))
        // Given back unsent, it is due again at once.
        try await database.releaseClaims(Set(later.map(\.notification.id)))
        #expect(try await database.claimDueNotifications(now: now.addingTimeInterval(122), limit: 10, claim: .seconds(120))
            .count == 1)
    }
}
