/// Where NT-ASGD stands in a run (Merity et al. 2018, §3): averaging began after epoch
/// `sinceEpoch` and has taken `steps` steps' weights into the mean.
package struct AveragingState: Codable, Sendable, Equatable {
    public var sinceEpoch: Int
    public var steps: Int

    public init(sinceEpoch: Int, steps: Int) {
        self.sinceEpoch = sinceEpoch
        self.steps = steps
    }

    /// The non-monotone trigger of AWD-LSTM's training script: this epoch's validation is worse than
    /// the best of the epochs before the last `nonmonotone` (`earlier`: the validation perplexities
    /// of the epochs before this one, oldest first). A short noisy stretch does not trigger it; a
    /// run that has stopped improving for `nonmonotone` epochs does.
    public static func triggers(validPerplexity: Double, earlier: [Double], nonmonotone: Int) -> Bool {
        guard earlier.count > nonmonotone, let best = earlier.dropLast(nonmonotone).min() else { return false }
        return validPerplexity > best
    }
}

/// The running mean of a run's weights, one step at a time: after k steps
/// mean = (θ₁ + … + θ_k) / k, each update mean += (θ − mean) / k, in place ([P] floats).
package struct ParameterAverage: Sendable, Equatable {
    public private(set) var mean: [Float]
    public private(set) var steps: Int

    /// `mean`: the weights so far (ignored while `steps` is 0: the first step replaces them).
    public init(mean: [Float], steps: Int) {
        self.mean = mean
        self.steps = steps
    }

    public mutating func add(_ parameters: [Float]) {
        precondition(parameters.count == mean.count, "an average over weights of one shape")
        steps += 1
        let rate = 1 / Float(steps)
        mean.withUnsafeMutableBufferPointer { m in
            parameters.withUnsafeBufferPointer { p in
                for i in 0 ..< m.count { m[i] += (p[i] - m[i]) * rate }
            }
        }
    }
}
