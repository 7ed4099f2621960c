import Foundation
import NextWord

/// The CLI's half of `BLASKernelRestart`: it can start itself again, which a library cannot.
enum BLASKernelFix {
    /// Runs the decision for this process: returns a warning to print, or does not return (exec).
    static func apply() -> String? {
        #if os(Linux)
        let step = BLASKernelRestart.decide(environment: ProcessInfo.processInfo.environment,
                          diagnosis: { BLASDiagnosis.current() }, selfCheck: { BLASDiagnosis.selfCheck() })
        switch step {
        case .proceed(let warning):
            return warning
        case .restart(let set, let unset):
            for (name, value) in set { setenv(name, value, 1) }
            for name in unset { unsetenv(name) }
            let argv = CommandLine.arguments.map { strdup($0) } + [nil]
            execv("/proc/self/exe", argv)
            // Still here: the exec failed. Carry on, on the slow kernel, and say so.
            for name in set.keys { unsetenv(name) }
            return BLASDiagnosis.current().warning
        }
        #else
        return nil
        #endif
    }

}
