import Foundation
import NextWord

/// What `nextword bench` measured; JSON keys as the speed issue names them.
struct BenchReport: Encodable {
    var machine = MachineInfo()
    var model = ""
    var threads = 1
    var suggestCalls = 0
    var suggestBoundaryP50Ms = 0.0, suggestBoundaryP99Ms = 0.0, suggestBoundaryMaxMs = 0.0
    var suggestInwordP50Ms = 0.0, suggestInwordP99Ms = 0.0, suggestInwordMaxMs = 0.0
    var stepLatencyP50Ms = 0.0, stepLatencyP99Ms = 0.0
    var learnP50Ms = 0.0, learnP99Ms = 0.0
    var coldStartMs = 0.0
    var modelLoadMs = 0.0
    var peakRssMb = 0.0
    var evalTokensPerS = 0.0
    var trainTokensPerS = 0.0
    /// What training's segment products ran in: "float32" (the BLAS) or "bfloat16" (AMX tiles).
    var trainMatmulPrecision: String?

    enum CodingKeys: String, CodingKey {
        case machine, model, threads
        case suggestCalls = "suggest_calls"
        case suggestBoundaryP50Ms = "suggest_boundary_p50_ms", suggestBoundaryP99Ms = "suggest_boundary_p99_ms"
        case suggestBoundaryMaxMs = "suggest_boundary_max_ms"
        case suggestInwordP50Ms = "suggest_inword_p50_ms", suggestInwordP99Ms = "suggest_inword_p99_ms"
        case suggestInwordMaxMs = "suggest_inword_max_ms"
        case stepLatencyP50Ms = "step_latency_p50_ms", stepLatencyP99Ms = "step_latency_p99_ms"
        case learnP50Ms = "learn_p50_ms", learnP99Ms = "learn_p99_ms"
        case coldStartMs = "cold_start_ms", modelLoadMs = "model_load_ms", peakRssMb = "peak_rss_mb"
        case evalTokensPerS = "eval_tokens_per_s", trainTokensPerS = "train_tokens_per_s"
        case trainMatmulPrecision = "train_matmul_precision"
    }

    func printTable() {
        func row(_ name: String, _ value: String) { print(name.padding(toLength: 34, withPad: " ", startingAt: 0) + value) }
        row("machine", "\(machine.cpu) (\(machine.cores) cores)")
        row("BLAS", "\(machine.blas.library) \(machine.blas.version), kernel \(machine.blas.kernel) (chosen by \(machine.blasKernelChosenBy))"
            + (machine.blasThreadTimeout.map { ", idle-thread timeout 2^\($0) cycles" } ?? ""))
        row("model", model)
        row("suggest at word boundary (ms)", String(format: "p50 %.3f  p99 %.3f  max %.3f", suggestBoundaryP50Ms, suggestBoundaryP99Ms, suggestBoundaryMaxMs))
        row("suggest inside a word (ms)", String(format: "p50 %.4f  p99 %.4f  max %.3f", suggestInwordP50Ms, suggestInwordP99Ms, suggestInwordMaxMs))
        row("suggest calls", "\(suggestCalls)")
        row("LSTM step + softmax, batch 1 (ms)", String(format: "p50 %.3f  p99 %.3f", stepLatencyP50Ms, stepLatencyP99Ms))
        row("learn one committed line (ms)", String(format: "p50 %.3f  p99 %.3f", learnP50Ms, learnP99Ms))
        row("cold start to first suggestion", String(format: "%.0f ms", coldStartMs))
        row("model load", String(format: "%.0f ms", modelLoadMs))
        row("peak RSS after the replay", String(format: "%.1f MB", peakRssMb))
        row("eval (10 streams x 35 steps)", String(format: "%.0f tokens/s (%d threads)", evalTokensPerS, threads))
        row("train (brown-lm config)", String(format: "%.0f tokens/s (%d threads", trainTokensPerS, threads)
            + (trainMatmulPrecision.map { ", matrix products in \($0))" } ?? ")"))
    }
}

/// The machine a figure came from.
struct MachineInfo: Encodable {
    var cpu = "unknown"
    var cores = ProcessInfo.processInfo.activeProcessorCount
    var os = ProcessInfo.processInfo.operatingSystemVersionString
    var blas = BLASInfo.current()
    /// Who chose the kernel: "openblas" (its own detection), "user" (OPENBLAS_CORETYPE set by hand)
    /// or "nextword" (set by this program's restart, `BLASKernelRestart`).
    var blasKernelChosenBy = "openblas"
    /// OPENBLAS_THREAD_TIMEOUT as this process ran (nil: OpenBLAS's default, 28), and who set it.
    var blasThreadTimeout: String?
    var blasThreadTimeoutSetBy: String?
    var cpuVendor = ""
    var cpuFamily = 0, cpuModel = 0
    var cpuFeatures: [String] = []

    enum CodingKeys: String, CodingKey {
        case cpu, cores, os, blas
        case blasKernelChosenBy = "blas_kernel_chosen_by"
        case blasThreadTimeout = "blas_thread_timeout", blasThreadTimeoutSetBy = "blas_thread_timeout_set_by"
        case cpuVendor = "cpu_vendor", cpuFamily = "cpu_family", cpuModel = "cpu_model", cpuFeatures = "cpu_features"
    }

    static func current() -> MachineInfo {
        var info = MachineInfo()
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            info.cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let features = CPUFeatures.current()
        info.cpuVendor = features.vendor
        info.cpuFamily = features.family
        info.cpuModel = features.model
        info.cpuFeatures = features.flags
        let environment = ProcessInfo.processInfo.environment
        info.blasKernelChosenBy = BLASKernelRestart.kernelChooser(environment)
        info.blasThreadTimeout = environment[BLASKernelRestart.threadTimeout]
        info.blasThreadTimeoutSetBy = info.blasThreadTimeout.map {
            environment[BLASKernelRestart.threadTimeoutMarker] == $0 ? "nextword" : "user"
        }
        return info
    }

    /// Largest resident set of this process so far (ru_maxrss is in KiB on Linux, bytes on macOS).
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        #if os(macOS)
        getrusage(RUSAGE_SELF, &usage)
        return Double(usage.ru_maxrss) / 1_048_576
        #else
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
        #endif
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
    var milliseconds: Double { seconds * 1000 }
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

extension UInt64 {
    var asMilliseconds: Double { Double(self) / 1_000_000 }
}
