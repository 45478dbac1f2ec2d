import Testing

@testable import ResticManagerCrypto

@Suite("Tokens")
struct TokensTests {
    @Test(arguments: TokenKind.allCases)
    func issuedTokenHasPrefixLengthAndKind(kind: TokenKind) {
        let token = Tokens.issue(kind)
        #expect(token.plaintext.hasPrefix(kind.prefix))
        #expect(token.plaintext.utf8.count == 4 + 43)
        #expect(token.plaintext.wholeMatch(of: #/^rm[sage]_[A-Za-z0-9_-]{43}$/#) != nil)
        #expect(Tokens.kind(of: token.plaintext) == kind)
        #expect(token.hash == Tokens.hash(token.plaintext))
    }

    @Test func prefixesAreAsSpecified() {
        #expect(TokenKind.session.prefix == "rms_")
        #expect(TokenKind.api.prefix == "rma_")
        #expect(TokenKind.agent.prefix == "rmg_")
        #expect(TokenKind.enrollment.prefix == "rme_")
    }

    @Test func thousandTokensAreUnique() {
        let tokens = (0..<1000).map { _ in Tokens.issue(.api) }
        #expect(Set(tokens.map(\.plaintext)).count == 1000)
        #expect(Set(tokens.map(\.hash)).count == 1000)
    }

    @Test func hashIsLowercaseHexSHA256() {
        #expect(Tokens.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Tokens.hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let hash = Tokens.issue(.session).hash
        #expect(hash.wholeMatch(of: #/^[0-9a-f]{64}$/#) != nil)
    }

    @Test(arguments: [
        "", "rms_", "rms_short", "RMS_" + String(repeating: "A", count: 43),
        "rmx_" + String(repeating: "A", count: 43), "rms" + String(repeating: "A", count: 44),
        "rms_" + String(repeating: "A", count: 42), "rms_" + String(repeating: "A", count: 44),
        "rms_" + String(repeating: "A", count: 42) + "+", "rms_" + String(repeating: "A", count: 42) + "=",
        "rms_" + String(repeating: "A", count: 42) + "é", " rms_" + String(repeating: "A", count: 43),
        "Bearer rma_" + String(repeating: "A", count: 43),
    ])
    func kindOfRejectsMalformedTokens(candidate: String) {
        #expect(Tokens.kind(of: candidate) == nil)
    }

    @Test func constantTimeEquals() {
        let hash = Tokens.issue(.agent).hash
        #expect(Tokens.constantTimeEquals(hash, hash))
        #expect(Tokens.constantTimeEquals(hash, String(hash)))
        #expect(Tokens.constantTimeEquals("", ""))
        #expect(!Tokens.constantTimeEquals(hash, String(hash.dropLast()) + (hash.last == "0" ? "1" : "0")))
        #expect(!Tokens.constantTimeEquals(hash, String(hash.dropLast())))
        #expect(!Tokens.constantTimeEquals(hash, ""))
        #expect(!Tokens.constantTimeEquals("abc", "abd"))
    }
}
