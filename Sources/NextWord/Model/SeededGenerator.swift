/// A small deterministic random generator (SplitMix64), so a seeded training run repeats exactly
/// on any platform; the system generator is neither seedable nor stable across platforms.
package struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 bits of precision.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
    }

    /// Uniform in [low, high).
    public mutating func nextFloat(in low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUnitFloat()
    }
}
