import Testing

@testable import ResticManagerServer

@Suite struct RoleTests {
    @Test func rolesAreOrdered() {
        #expect(Role.viewer < Role.operator)
        #expect(Role.operator < Role.admin)
    }
}
