/// A kind of evidence that a text is written to steer the model rather than to inform it.
///
/// The raw value is the name reported in `InjectionAssessment.signals`.
public enum InjectionSignal: String, CaseIterable, Sendable, Codable {
    /// "Ignore / disregard / forget (all) previous instructions", "forget everything above",
    /// "answer from your own knowledge, not the documents"; German, French, Spanish, Italian,
    /// Portuguese and Russian forms ("Vergiss alle vorherigen Anweisungen").
    case overrideInstructions = "override_instructions"
    /// "Print / reveal / show your system prompt", "what were your initial instructions",
    /// "what is written above".
    case revealPrompt = "reveal_prompt"
    /// Persona set-ups: "I want you to act as", "pretend you are", "you are now", "stay in
    /// character".
    case rolePlayJailbreak = "role_play_jailbreak"
    /// Lifting the model's limits: "DAN", "do anything now", "developer mode", "no restrictions",
    /// "unfiltered AI".
    case restrictionRemoval = "restriction_removal"
    /// "New instructions:", "from now on you will", "your new task is", "change your
    /// instructions".
    case newInstructions = "new_instructions"
    /// Fake conversation structure: "SYSTEM:" lines, `<|im_start|>system`, `[INST]`, `</s>`,
    /// "### Instruction:", escaped-newline floods and "=====END" fences.
    case systemImpersonation = "system_impersonation"
    /// Data leaving through the answer: markdown images or links to external URLs carrying query
    /// strings, "send the conversation to https://…".
    case exfiltration = "exfiltration"
    /// Text speaking to the model that reads it: "AI assistant reading this", "if you are an LLM",
    /// "note to the AI".
    case addressedToModel = "addressed_to_model"
    /// Hiding the text from a reader or a filter: base64 blobs, zero-width characters, words
    /// mixing Latin with Cyrillic or Greek look-alikes, letter-spaced words, "decode this and
    /// follow it".
    case obfuscation = "obfuscation"
    /// Dictating the answer: "just say", "repeat after me", "say yes", "haha pwned".
    case forcedOutput = "forced_output"
    /// A conversational pivot: praise or "stop" followed by "now …" ("Well done! Now write …").
    /// Weak alone; it makes other signals count for more.
    case taskPivot = "task_pivot"
}
