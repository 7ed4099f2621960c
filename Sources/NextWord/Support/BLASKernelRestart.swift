import Foundation

/// Puts the process on the BLAS kernel its CPU deserves before any work starts.
///
/// OpenBLAS chooses its kernel once, when it is loaded, from `OPENBLAS_CORETYPE` or its own CPU
/// detection; where that detection falls back to a generic kernel (`BLASDiagnosis`), the only fix is
/// to start again with the variable set. A program (the `nextword` CLI) does that once, marking the variable as its own
/// with `NEXTWORD_BLAS_CORETYPE`, checks in the new process that the kernel loaded and computes
/// correctly, and otherwise goes back to OpenBLAS's own choice with a warning. A variable the user
/// set is never changed.
package enum BLASKernelRestart {
    /// Holds the kernel name this program set, or "declined:NAME" after a failed check.
    public static let marker = "NEXTWORD_BLAS_CORETYPE"
    public static let coreType = "OPENBLAS_CORETYPE"

    /// What to do at start, decided from the environment and the diagnosis alone.
    public enum Step: Equatable, Sendable {
        case proceed(warning: String?)
        /// Start this program again with `set` added to its environment and `unset` removed.
        case restart(set: [String: String], unset: [String])
    }

    public static func decide(environment: [String: String], diagnosis: () -> BLASDiagnosis, selfCheck: () -> Bool) -> Step {
        if let ours = environment[marker] {
            if ours.hasPrefix("declined:") {
                let name = ours.dropFirst("declined:".count)
                return .proceed(warning: "warning: the BLAS kernel \(name) failed its self-check here; running on OpenBLAS's own choice (slower)")
            }
            guard environment[coreType] == ours else { return .proceed(warning: nil) }  // the user changed it since
            let loaded = diagnosis().blas.kernel
            if loaded.caseInsensitiveCompare(ours) == .orderedSame && selfCheck() { return .proceed(warning: nil) }
            return .restart(set: [marker: "declined:\(ours)"], unset: [coreType])
        }
        let found = diagnosis()
        switch found.advice {
        case .fine: return .proceed(warning: nil)
        case .userChoseWeaker: return .proceed(warning: found.warning)
        case .useCoreType(let name): return .restart(set: [coreType: name, marker: name], unset: [])
        }
    }

    /// OpenBLAS's idle threads spin (sched_yield) for 2^28 cycles after every product unless
    /// `OPENBLAS_THREAD_TIMEOUT` says otherwise (2^n cycles, n in 4...30). Training runs our own
    /// kernels on the same cores between its products, and that spinning took 11 % of training's
    /// samples (scheduler and sched_yield); 2^4 puts them to sleep at once, and the next product,
    /// milliseconds long, wakes them in microseconds (`bench` training A/B: wall 1.11× faster).
    public static let threadTimeout = "OPENBLAS_THREAD_TIMEOUT"
    /// Holds the timeout this program set, so a child can be started without it.
    public static let threadTimeoutMarker = "NEXTWORD_BLAS_THREAD_TIMEOUT"
    public static let quickSleepTimeout = "4"

    /// The variables to add before OpenBLAS is loaded (it reads them once, then): the quick-sleep
    /// timeout and its marker, or nothing when the timeout is already set (by the user, or by us
    /// before a restart).
    public static func threadTimeoutVariables(environment: [String: String]) -> [String: String] {
        environment[threadTimeout] == nil ? [threadTimeout: quickSleepTimeout, threadTimeoutMarker: quickSleepTimeout] : [:]
    }

    /// The environment a child of ours should start with to behave as a user-started process: without
    /// the variables this program set for itself.
    public static func environmentForFreshStart(_ environment: [String: String]) -> [String: String] {
        var result = environment
        if let ours = result[marker] {
            result[marker] = nil
            if result[coreType] == ours { result[coreType] = nil }
        }
        if let ours = result[threadTimeoutMarker] {
            result[threadTimeoutMarker] = nil
            if result[threadTimeout] == ours { result[threadTimeout] = nil }
        }
        return result
    }

    /// Who chose the kernel of a process with `environment`: "nextword" (this restart),
    /// "user" (OPENBLAS_CORETYPE set by hand) or "openblas" (its own detection).
    public static func kernelChooser(_ environment: [String: String]) -> String {
        guard let set = environment[coreType] else { return "openblas" }
        return environment[marker] == set ? "nextword" : "user"
    }
}
