export { gtkwText, gtkwTraceNames, writeGtkw, type GtkwOptions, type GtkwTrace } from './GtkwWriter.ts';
export { globToRegExp, openVcd, VcdTracer, type TracedSignal, type TraceOptions } from './Tracer.ts';
export { readVcd, readVcdFile, VcdParseError, VcdParser, type VcdChange, type VcdDesign, type VcdReadOptions, type VcdVar } from './VcdReader.ts';
export { sanitizeVcdName, VCD_MAX_WIDTH, vcdIdentifier, VcdWriter, VcdWriterError, type VcdSink, type VcdVarType, type VcdWriterOptions } from './VcdWriter.ts';
