import Foundation

/// Maps wall-clock times of one time zone to instants, applying the DST
/// rules documented on `CronExpression`.
///
/// All instants are whole seconds since 1970 (time-zone offsets and
/// transitions are whole seconds in tzdata), which keeps the arithmetic
/// exact.
struct ZoneClock {
    let timeZone: TimeZone

    func offset(at instant: Int) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant)))
    }

    /// The instant a schedule whose wall time is `localSeconds` fires at:
    /// - the wall time exists once: that instant;
    /// - it exists twice (fall-back): the first occurrence;
    /// - it does not exist (spring-forward gap): the first instant after
    ///   the gap, i.e. the transition itself.
    func fireInstant(forLocal localSeconds: Int) -> Int {
        // Every instant showing this wall time lies within ±18 h of
        // `localSeconds` read as UTC. Offsets sampled a day either side
        // cover both sides of any transition in that window; a further round
        // of sampling at the candidate instants catches zones that moved
        // twice in those two days.
        var candidates: [Int] = []
        func consider(_ offset: Int) {
            if !candidates.contains(offset) { candidates.append(offset) }
        }
        consider(offset(at: localSeconds - 86_400))
        consider(offset(at: localSeconds + 86_400))
        var earliest: Int?
        var index = 0
        while index < candidates.count {
            let instant = localSeconds - candidates[index]
            let actual = offset(at: instant)
            if actual == candidates[index] {
                earliest = min(earliest ?? instant, instant)
            } else if candidates.count < 4 {
                consider(actual)
            }
            index += 1
        }
        if let earliest {
            return earliest
        }
        return firstInstant(afterLocal: localSeconds)
    }

    /// The first instant whose wall time is later than `localSeconds`: for
    /// a wall time inside a gap, that is the transition that skipped it.
    private func firstInstant(afterLocal localSeconds: Int) -> Int {
        // The wall clock runs ahead of UTC by less than a day in either
        // direction, so the answer lies strictly inside this bracket.
        var before = localSeconds - 2 * 86_400
        var after = localSeconds + 2 * 86_400
        while after - before > 1 {
            let middle = before + (after - before) / 2
            if middle + offset(at: middle) > localSeconds {
                after = middle
            } else {
                before = middle
            }
        }
        return after
    }
}
