using System.Text;

namespace RetentionCampaigns.Imports;

/// <summary>
/// A streaming RFC 4180 reader: quoted fields with doubled quotes and line breaks, CRLF or LF. It tracks the
/// physical line where each record starts, for error reports, and flags malformed records instead of guessing.
/// </summary>
public sealed class CsvReader(TextReader reader, char delimiter)
{
    readonly char[] buffer = new char[1 << 16];
    readonly StringBuilder field = new();
    int length, position;
    long line = 1;

    public List<string> Record { get; } = [];
    /// <summary>The 1-based line on which the current record starts.</summary>
    public long Line { get; private set; }
    /// <summary>Why the current record is malformed, or null.</summary>
    public string? Malformed { get; private set; }

    public bool Read()
    {
        while (true)
        {
            if (!ReadRecord()) return false;
            // Blank lines carry no record.
            if (Record.Count > 1 || Record[0].Length > 0 || Malformed is not null) return true;
        }
    }

    bool ReadRecord()
    {
        Record.Clear();
        Malformed = null;
        field.Clear();
        if (!Fill()) return false;
        Line = line;
        var quoted = false;
        var afterQuote = false;
        while (Fill())
        {
            var c = buffer[position++];
            if (quoted)
            {
                if (c == '"')
                {
                    if (Fill() && buffer[position] == '"') { field.Append('"'); position++; }
                    else { quoted = false; afterQuote = true; }
                }
                else
                {
                    if (c == '\n') line++;
                    field.Append(c);
                }
                continue;
            }
            if (c == delimiter) { EndField(); afterQuote = false; continue; }
            if (c == '\r') continue;
            if (c == '\n') { line++; EndField(); return true; }
            if (c == '"' && field.Length == 0 && !afterQuote) { quoted = true; continue; }
            if (c == '"' || afterQuote) Malformed ??= "a quote inside an unquoted field, or text after a closing quote";
            field.Append(c);
        }
        if (quoted)
            Malformed ??= $"the quote opened in the row starting on line {Line} is never closed, so lines {Line}-{line} could not be read. " +
                          "Close the quote, or write a quote inside a quoted value as two quotes (\"\")";
        EndField();
        return true;
    }

    void EndField()
    {
        Record.Add(field.ToString());
        field.Clear();
    }

    bool Fill()
    {
        if (position < length) return true;
        length = reader.Read(buffer, 0, buffer.Length);
        position = 0;
        return length > 0;
    }
}
