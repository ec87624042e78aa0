// English and Simplified Chinese; the system language picks one, the user can switch.
import type { AppError, ErrorKind } from "./types";

export type Locale = "en" | "zh-CN";

const en = {
  appTitle: "Quire",
  addPdfs: "Add PDFs",
  dropHere: "Drop PDFs or folders anywhere to add them",
  emptyLibrary: "Your library is empty. Drag PDFs into this window or click “Add PDFs”; they never leave this computer.",
  modelsMissing: "Quire cannot read or answer until its models are there. Fetch the default ones with `python3 models/fetch.py` (in Quire's folder), or choose other model files in Settings. Missing:",
  askPlaceholder: "Ask about your documents…",
  send: "Send",
  stop: "Stop",
  cancel: "Cancel",
  remove: "Remove",
  rename: "Rename",
  delete: "Delete",
  newConversation: "New conversation",
  conversations: "Conversations",
  library: "Library",
  settings: "Settings",
  sources: "Sources",
  supportingQuotes: "Supporting quotes",
  fromDocuments: "From your documents",
  checking: "Checking against your documents…",
  checkedAnswer: "Answer, checked against your documents",
  notFound: "not confirmed by your documents",
  unknownTerm: "in none of the sources",
  nothingSupported: "Nothing the model wrote is supported by your documents; the answer is what they say:",
  modelWroteUnsupported: "What the model wrote (not supported by your documents)",
  closestPassages: "Closest passages",
  partsLeftOut: "{n} parts left out ({reasons})",
  onePartLeftOut: "1 part left out ({reasons})",
  reasonRepeated: "repeated",
  reasonScaffolding: "copied from the prompt",
  reasonInventedListItem: "invented list items",
  reasonHedge: "“I don't know” beside supported sentences",
  matchedByQuire: "matched by Quire",
  pages: "{n} pages",
  onePage: "1 page",
  stopped: "(stopped)",
  cutAtLimit: "(cut off at the answer length limit)",
  filesProgress: "Adding: {done} of {total} files",
  batchDone: "{added} added, {failed} not added ({seconds} s)",
  newShort: "+ New",
  indexingTitle: "Reading your PDFs…",
  indexingHint: "You can ask as soon as the first one is ready. Progress is on the left.",
  chunksPerSecond: "{n} chunks/s",
  secondsLeft: "{n} s left",
  failedBecause: "Not added: {reason}",
  onlySelected: "Ask only the selected documents",
  noAnswer: "The model gave no answer; the passages it was given are listed below.",
  language: "Language",
  device: "Device in use",
  answerModel: "Answer model (GGUF file)",
  embeddingModel: "Embedding model (folder)",
  modelsDir: "Models folder",
  sourcesPerAnswer: "Sources per answer",
  chunkSize: "Chunk size (tokens)",
  noDocuments: "No documents yet.",
  libraryDir: "Library folder",
  choose: "Choose…",
  defaultModel: "default: {name}",
  missing: "missing",
  deviceSetting: "Device",
  deviceAuto: "Automatic (GPU when available)",
  systemLanguage: "System language",
  save: "Save",
  emptyTitle: "Drop PDFs here",
  privacy: "Everything stays on this computer: reading, indexing and answering all run offline.",
  readyTitle: "Ask about your {n} documents",
  readyHint: "Answers cite the pages they come from; click a citation to open the page. Tick documents in the library to ask only those.",
  hintModelMissing: "Choose the models folder in Settings, or fetch the models with `python3 models/fetch.py` (in Quire's folder).",
  hintModelInvalid: "Choose another model in Settings, or fetch the default models again.",
  hintModelMismatch: "Add the documents again to index them with the current model.",
  hintBusy: "Another Quire process is changing this library; try again when it has finished.",
  hintEmptyLibrary: "Add PDFs first.",
  hintDevice: "Choose the CPU in Settings.",
  modelsOnComputer: "Models on this computer",
  searchAgain: "Search again",
  lookingForModels: "Looking for models in Ollama, LM Studio, GPT4All, Jan and your folders…",
  noModelsFound: "No GGUF models found in Ollama, LM Studio, GPT4All, Jan or your folders.",
  modelName: "Name",
  modelApp: "App",
  modelSize: "Size",
  modelQuantisation: "Quantisation",
  modelContext: "Context",
  modelTemplate: "Chat template",
  yes: "yes",
  no: "no",
  use: "Use",
  inUse: "in use",
  cannotAnswer: "This model cannot write answers: it turns text into vectors, or goes beside another model.",
  skippedFiles: "{n} files skipped",
  oneSkippedFile: "1 file skipped",
  modelFolders: "More folders with models",
  addFolder: "Add folder…",
  folderSource: "folder",
} as const;

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  appTitle: "Quire",
  addPdfs: "添加 PDF",
  dropHere: "将 PDF 或文件夹拖到窗口任意位置即可添加",
  emptyLibrary: "文库是空的。把 PDF 拖进窗口，或点击“添加 PDF”；文件不会离开这台电脑。",
  modelsMissing: "模型就位之前，Quire 无法读取或回答。运行 `python3 models/fetch.py`（在 Quire 的文件夹中）获取默认模型，或在设置中选择其他模型文件。缺少：",
  askPlaceholder: "询问你的文档…",
  send: "发送",
  stop: "停止",
  cancel: "取消",
  remove: "移除",
  rename: "重命名",
  delete: "删除",
  newConversation: "新对话",
  conversations: "对话",
  library: "文库",
  settings: "设置",
  sources: "来源",
  supportingQuotes: "支持引文",
  fromDocuments: "来自你的文档",
  checking: "正在与你的文档核对…",
  checkedAnswer: "回答（已与你的文档核对）",
  notFound: "你的文档未能证实",
  unknownTerm: "不在任何来源中",
  nothingSupported: "模型写的内容都没有得到你的文档支持；以下是文档本身的说法：",
  modelWroteUnsupported: "模型写的内容（没有得到你的文档支持）",
  closestPassages: "最接近的段落",
  partsLeftOut: "省略了 {n} 处（{reasons}）",
  onePartLeftOut: "省略了 1 处（{reasons}）",
  reasonRepeated: "重复",
  reasonScaffolding: "照抄提示",
  reasonInventedListItem: "编造的列表项",
  reasonHedge: "在有依据的句子旁说“不知道”",
  matchedByQuire: "由 Quire 匹配",
  pages: "{n} 页",
  onePage: "1 页",
  stopped: "（已停止）",
  cutAtLimit: "（已达到回答长度上限）",
  filesProgress: "正在添加：第 {done} / {total} 个文件",
  batchDone: "已添加 {added} 个，{failed} 个未添加（{seconds} 秒）",
  newShort: "+ 新对话",
  indexingTitle: "正在读取你的 PDF…",
  indexingHint: "第一篇准备好后就可以提问。进度显示在左侧。",
  chunksPerSecond: "每秒 {n} 段",
  secondsLeft: "剩余 {n} 秒",
  failedBecause: "未添加：{reason}",
  onlySelected: "只询问选中的文档",
  noAnswer: "模型没有给出回答；下面列出了提供给它的段落。",
  language: "语言",
  device: "使用的设备",
  answerModel: "回答模型（GGUF 文件）",
  embeddingModel: "嵌入模型（文件夹）",
  modelsDir: "模型文件夹",
  sourcesPerAnswer: "每个回答的来源数",
  chunkSize: "分段大小（词元）",
  noDocuments: "还没有文档。",
  libraryDir: "文库文件夹",
  choose: "选择…",
  defaultModel: "默认：{name}",
  missing: "缺失",
  deviceSetting: "设备",
  deviceAuto: "自动（有 GPU 时使用 GPU）",
  systemLanguage: "系统语言",
  save: "保存",
  emptyTitle: "把 PDF 拖到这里",
  privacy: "一切都留在这台电脑上：读取、索引和回答全部离线完成。",
  readyTitle: "询问你的 {n} 篇文档",
  readyHint: "回答会注明出处页码；点击引用即可打开该页。在文库中勾选文档，可只询问这些文档。",
  hintModelMissing: "请在设置中选择模型文件夹，或运行 `python3 models/fetch.py`（在 Quire 的文件夹中）获取模型。",
  hintModelInvalid: "请在设置中选择其他模型，或重新获取默认模型。",
  hintModelMismatch: "请重新添加这些文档，用当前模型为它们建立索引。",
  hintBusy: "另一个 Quire 进程正在修改这个文库；请在它完成后重试。",
  hintEmptyLibrary: "请先添加 PDF。",
  hintDevice: "请在设置中选择 CPU。",
  modelsOnComputer: "这台电脑上的模型",
  searchAgain: "重新查找",
  lookingForModels: "正在 Ollama、LM Studio、GPT4All、Jan 和你的文件夹中查找模型…",
  noModelsFound: "在 Ollama、LM Studio、GPT4All、Jan 和你的文件夹中都没有找到 GGUF 模型。",
  modelName: "名称",
  modelApp: "应用",
  modelSize: "大小",
  modelQuantisation: "量化",
  modelContext: "上下文",
  modelTemplate: "对话模板",
  yes: "有",
  no: "无",
  use: "使用",
  inUse: "使用中",
  cannotAnswer: "这个模型不能写回答：它把文本转换成向量，或需与其他模型配合使用。",
  skippedFiles: "跳过了 {n} 个文件",
  oneSkippedFile: "跳过了 1 个文件",
  modelFolders: "其他存放模型的文件夹",
  addFolder: "添加文件夹…",
  folderSource: "文件夹",
};

const tables: Record<Locale, Record<MessageKey, string>> = { en, "zh-CN": zh };

/** The locale for the system's preferred languages (Chinese variants → zh-CN, else English). */
export function detectLocale(languages: readonly string[]): Locale {
  for (const lang of languages) {
    const l = lang.toLowerCase();
    if (l.startsWith("zh")) return "zh-CN";
    if (l.startsWith("en")) return "en";
  }
  return "en";
}

/** The message for `key` in `locale`, with `{name}` placeholders filled in. */
export function translate(
  locale: Locale,
  key: MessageKey,
  params: Record<string, string | number> = {},
): string {
  return tables[locale][key].replace(/\{(\w+)\}/g, (_, name) =>
    name in params ? String(params[name]) : `{${name}}`,
  );
}

/** What to do about an error of each kind, where the window can say (the engine's messages say
 * only what happened). */
const hints: Partial<Record<ErrorKind, MessageKey>> = {
  model_missing: "hintModelMissing",
  model_invalid: "hintModelInvalid",
  model_mismatch: "hintModelMismatch",
  busy: "hintBusy",
  empty_library: "hintEmptyLibrary",
  device: "hintDevice",
};

/** The advice for an error kind in `locale`, or null when there is none. */
export function errorHint(locale: Locale, kind: ErrorKind): string | null {
  const key = hints[kind];
  return key ? translate(locale, key) : null;
}

/** An error as the window shows it: "message — what to do". */
export function describeError(locale: Locale, error: AppError): string {
  const hint = errorHint(locale, error.kind);
  return hint ? `${error.message} — ${hint}` : error.message;
}
