/// NextWord: next-word prediction for keyboards, on an LSTM language model that learns from its user.
public enum NextWordInfo {
    public static let version = "0.1.0"
}
