using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Api;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Orders;

namespace RetentionCampaigns.Imports;

/// <summary>
/// Streams a CSV file into the database in chunks: one thread parses and validates, the other stages each
/// chunk (COPY on PostgreSQL) and merges it with set-based SQL. Memory stays bounded by two chunks.
/// Invalid rows are reported and skipped; re-importing the same file changes nothing.
/// </summary>
public sealed class CsvImporter(RetentionDb db, IOptions<ShopOptions> shopOptions, TimeProvider clock, ILogger<CsvImporter> log)
{
    public const int ChunkRows = 20_000;
    public const int MaxReportedErrors = 1_000;

    static readonly Dictionary<string, string> CustomerColumns = Aliases(new()
    {
        ["externalId"] = ["externalid", "customerid", "id", "kundennummer", "kundenid", "kundennr"],
        ["email"] = ["email", "emailaddress", "mail", "emailadresse"],
        ["firstName"] = ["firstname", "givenname", "vorname"],
        ["lastName"] = ["lastname", "familyname", "surname", "nachname"],
        ["locale"] = ["locale", "language", "sprache"],
        ["timeZone"] = ["timezone", "tz"],
        ["country"] = ["country", "countrycode", "land"],
        ["signedUpAt"] = ["signedupat", "signupdate", "signedup", "createdat", "registeredat", "registriertam", "registrierungsdatum", "angemeldetam"],
        ["tags"] = ["tags"],
    });

    static readonly Dictionary<string, string> OrderColumns = Aliases(new()
    {
        ["externalId"] = ["orderid", "externalid", "id", "ordernumber", "bestellnummer", "bestellid", "bestellnr"],
        ["customerId"] = ["customerid", "customerexternalid", "customer", "kundennummer", "kundenid", "kundennr"],
        ["orderedAt"] = ["orderedat", "orderdate", "date", "createdat", "bestelldatum", "datum"],
        ["amount"] = ["amount", "total", "ordertotal", "betrag", "summe", "gesamtbetrag"],
        ["currency"] = ["currency", "waehrung", "währung"],
        ["refundedAmount"] = ["refundedamount", "refunded", "refund", "refunds"],
        ["paymentFingerprint"] = ["paymentfingerprint", "fingerprint", "cardfingerprint"],
        ["sku"] = ["sku", "productsku", "artikelnummer", "artnr"],
        ["productName"] = ["productname", "product", "produkt", "produktname", "artikel", "artikelname"],
        ["category"] = ["category", "productcategory", "kategorie", "warengruppe"],
        ["quantity"] = ["quantity", "qty", "menge", "anzahl", "stueck", "stück"],
        ["unitPrice"] = ["unitprice", "price", "einzelpreis", "stueckpreis", "stückpreis", "preis"],
    });

    static readonly Dictionary<string, string> ConsentColumns = Aliases(new()
    {
        ["customerId"] = ["customerid", "customerexternalid", "customer", "kundennummer", "kundenid", "kundennr"],
        ["purpose"] = ["purpose", "zweck"],
        ["status"] = ["status"],
        ["lawfulBasis"] = ["lawfulbasis", "basis", "rechtsgrundlage"],
        ["objection"] = ["objection", "widerspruch"],
        ["source"] = ["source", "quelle"],
        ["occurredAt"] = ["occurredat", "date", "time", "timestamp", "datum", "zeitpunkt"],
        ["ipAddress"] = ["ipaddress", "ip"],
        ["userAgent"] = ["useragent"],
        ["consentTextVersion"] = ["consenttextversion", "textversion"],
    });

    static readonly string[] RequiredCustomerFields = ["externalId", "email"];
    // The time is part of an event's identity: an import run twice must find the same events.
    static readonly string[] RequiredConsentFields = ["customerId", "purpose", "status", "occurredAt"];
    static readonly string[] RequiredOrderFields = ["externalId", "customerId", "orderedAt", "amount"];

    /// <param name="started">Told the import's id as soon as its report exists (the UI shows progress from then on).</param>
    public async Task<ImportReport> ImportAsync(ImportKind kind, string path, string? fileName, IProgress<ImportProgress>? progress, CancellationToken ct,
        Action<long>? started = null)
    {
        var run = new ImportRun { Kind = kind.ToString().ToLowerInvariant(), FileName = fileName, Status = "running", StartedAt = clock.GetUtcNow().UtcDateTime };
        db.ImportRuns.Add(run);
        await db.SaveChangesAsync(ct);
        started?.Invoke(run.Id);

        var state = new ImportState();
        try
        {
            if (await FindInvalidUtf8LineAsync(path, ct) is { } badLine)
                return await FinishAsync(run, state, "rejected", new ImportError(badLine, null,
                    "The file is not valid UTF-8 here. Save it as UTF-8 (in Excel: 'CSV UTF-8') and import it again."));

            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var reader = new StreamReader(file, new UTF8Encoding(false, true), detectEncodingFromByteOrderMarks: false, 1 << 16);
            var delimiter = DetectDelimiter(path);
            var parser = new CsvReader(reader, delimiter);
            if (!parser.Read())
                return await FinishAsync(run, state, "rejected", new ImportError(1, null, "The file is empty: a header row is expected."));

            var columns = MapHeader(parser.Record, kind, state);
            var required = kind switch { ImportKind.Customers => RequiredCustomerFields, ImportKind.Orders => RequiredOrderFields, _ => RequiredConsentFields };
            var missing = required.Where(f => !columns.Fields.ContainsKey(f)).ToList();
            if (missing.Count > 0)
                return await FinishAsync(run, state, "rejected", new ImportError(1, string.Join(", ", missing.Select(columns.NameOf)),
                    $"Required column missing: {string.Join(", ", missing.Select(m => columns.NameOf(m)))}. Found: {string.Join(", ", parser.Record)}."));

            var chunks = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
            await using var store = await ImportStore.OpenAsync(db, shopOptions.Value, clock.GetUtcNow().UtcDateTime, ct);
            var writer = Task.Run(async () =>
            {
                await foreach (var chunk in chunks.Reader.ReadAllAsync(ct))
                {
                    var result = kind switch
                    {
                        ImportKind.Customers => await store.MergeCustomersAsync(chunk, ct),
                        ImportKind.Orders => await store.MergeOrdersAsync(chunk, ct),
                        _ => await store.MergeConsentsAsync(chunk, ct),
                    };
                    state.Merged(result, chunk);
                    progress?.Report(new ImportProgress(chunk.BytesRead, state.RowsRead));
                }
            }, ct);
            try
            {
                await ReadChunksAsync(parser, file, kind, columns, state, chunks.Writer, ct);
            }
            finally { chunks.Writer.TryComplete(); }
            await writer;
            return await FinishAsync(run, state, "completed", null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "Import {Id} failed", run.Id);
            return await FinishAsync(run, state, "failed", new ImportError(state.RowsRead + 1, null, $"The import stopped: {e.Message}"));
        }
    }

    async Task ReadChunksAsync(CsvReader parser, FileStream file, ImportKind kind, Columns columns, ImportState state,
        ChannelWriter<Chunk> output, CancellationToken ct)
    {
        var shop = shopOptions.Value;
        var zone = TimeZoneInfo.FindSystemTimeZoneById(shop.TimeZone);
        var errors = new ValidationErrors();
        var chunk = new Chunk();
        while (parser.Read())
        {
            var line = parser.Line;
            var record = parser.Record;
            state.RowsRead++;
            errors.Clear();
            if (parser.Malformed is { } why) state.Reject(new ImportError(line, null, $"Malformed CSV: {why}."));
            else if (record.Count > columns.Width && record.Skip(columns.Width).Any(value => value.Trim().Length > 0))
                // Usually a comma or semicolon inside a value that is not quoted: the values after it are shifted.
                state.Reject(new ImportError(line, null, $"The row has {record.Count} values but the header names {columns.Width} columns; " +
                    "put values that contain the separator in double quotes."));
            else if (kind == ImportKind.Customers) ReadCustomer(record, line, columns, errors, state, chunk);
            else if (kind == ImportKind.Orders) ReadOrder(record, line, columns, zone, shop.Currency, errors, state, chunk);
            else ReadConsent(record, line, columns, zone, errors, state, chunk);

            if (chunk.Rows >= ChunkRows)
            {
                chunk.BytesRead = file.Position;
                await output.WriteAsync(chunk, ct);
                chunk = new Chunk();
            }
        }
        chunk.BytesRead = file.Position;
        if (chunk.Rows > 0) await output.WriteAsync(chunk, ct);
    }

    static void ReadCustomer(List<string> record, long line, Columns columns, ValidationErrors errors, ImportState state, Chunk chunk)
    {
        var signedUp = Time(record, columns, "signedUpAt", TimeZoneInfo.Utc, errors, "is not a date (use 2024-03-01, 2024-03-01T10:00:00Z or 01.03.2024).");
        Dictionary<string, JsonElement>? attributes = null;
        foreach (var (name, index) in columns.Attributes)
        {
            if (index >= record.Count || record[index].Length == 0) continue;
            attributes ??= [];
            attributes[name] = JsonSerializer.SerializeToElement(record[index].Trim());
        }
        var input = new CustomerInput(columns.Get(record, "externalId"), columns.Get(record, "email"), columns.Get(record, "firstName"),
            columns.Get(record, "lastName"), columns.Get(record, "locale"), columns.Get(record, "timeZone"), columns.Get(record, "country"),
            signedUp, columns.Get(record, "tags")?.Split('|', ',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList(),
            attributes);
        var valid = ValidCustomer.Validate(input, "", errors);
        if (valid is null || errors.Any) { state.Reject(line, columns, errors); return; }
        chunk.AddCustomer(line, valid);
    }

    static void ReadOrder(List<string> record, long line, Columns columns, TimeZoneInfo zone, string currency, ValidationErrors errors,
        ImportState state, Chunk chunk)
    {
        var orderedAt = Time(record, columns, "orderedAt", zone, errors);
        var amount = Amount(record, columns, "amount", errors);
        var refunded = Amount(record, columns, "refundedAmount", errors);
        var unitPrice = Amount(record, columns, "unitPrice", errors);
        int? quantity = null;
        if (columns.Get(record, "quantity") is { } quantityText)
        {
            if (int.TryParse(quantityText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var q)) quantity = q;
            else errors.Add("lines[0].quantity", "is not a whole number.");
        }
        var sku = columns.Get(record, "sku");
        List<OrderLineInput>? lines = sku is null && columns.Get(record, "productName") is null ? null
            : [new OrderLineInput(sku, columns.Get(record, "productName"), columns.Get(record, "category"), quantity, unitPrice)];
        var input = new OrderInput(columns.Get(record, "externalId"), columns.Get(record, "customerId"), orderedAt, amount,
            columns.Get(record, "currency"), refunded, lines, columns.Get(record, "paymentFingerprint"));
        if (errors.Any) { state.Reject(line, columns, errors); return; }
        var valid = ValidOrder.Validate(input, "", currency, errors);
        if (valid is null) { state.Reject(line, columns, errors); return; }
        chunk.AddOrder(line, valid);
    }

    static void ReadConsent(List<string> record, long line, Columns columns, TimeZoneInfo zone, ValidationErrors errors, ImportState state, Chunk chunk)
    {
        var occurredAt = Time(record, columns, "occurredAt", zone, errors);
        if (columns.Get(record, "occurredAt") is null) errors.Add("occurredAt", "is required: when the customer gave or withdrew consent.");
        bool? objection = null;
        if (columns.Get(record, "objection") is { } objectionText)
        {
            objection = objectionText.ToLowerInvariant() switch { "true" or "yes" or "ja" or "1" => true, "false" or "no" or "nein" or "0" => false, _ => null };
            if (objection is null) errors.Add("objection", "must be true or false.");
        }
        var input = new ConsentEventInput(columns.Get(record, "customerId"), columns.Get(record, "purpose"), columns.Get(record, "status"),
            columns.Get(record, "lawfulBasis"), objection, columns.Get(record, "source"), occurredAt, columns.Get(record, "ipAddress"),
            columns.Get(record, "userAgent"), columns.Get(record, "consentTextVersion"));
        var valid = ValidConsentEvent.Validate(input, "", errors);
        if (valid is null || errors.Any) { state.Reject(line, columns, errors); return; }
        chunk.AddConsent(line, valid);
    }

    /// <summary>A date or time column, in <paramref name="zone"/> when it names no offset; null when empty or invalid (then an error).</summary>
    static DateTimeOffset? Time(List<string> record, Columns columns, string field, TimeZoneInfo zone, ValidationErrors errors,
        string invalid = "is not a date or time (use 2024-03-01T10:00:00Z, 2024-03-01 10:00 or 01.03.2024 10:00).")
    {
        if (columns.Get(record, field) is not { } text) return null;
        if (CsvValues.TryParseTime(text, zone, out var utc)) return new DateTimeOffset(utc);
        errors.Add(field, invalid);
        return null;
    }

    static decimal? Amount(List<string> record, Columns columns, string field, ValidationErrors errors)
    {
        if (columns.Get(record, field) is not { } text) return null;
        if (CsvValues.TryParseAmount(text, out var amount)) return amount;
        errors.Add(field == "unitPrice" ? "lines[0].unitPrice" : field, "is not an amount (use 12.50 or 12,50).");
        return null;
    }

    async Task<ImportReport> FinishAsync(ImportRun run, ImportState state, string status, ImportError? fatal)
    {
        if (fatal is not null) state.Reject(fatal);
        run.Status = status;
        run.FinishedAt = clock.GetUtcNow().UtcDateTime;
        run.RowsRead = state.RowsRead;
        run.RowsAccepted = state.Accepted;
        run.RowsRejected = state.Rejected;
        run.RowsCreated = state.Created;
        run.RowsUpdated = state.Updated;
        run.RowsUnchanged = state.Accepted > 0 ? state.Unchanged : 0;
        run.IgnoredColumns = JsonSerializer.Serialize(state.IgnoredColumns, JsonConversion.Options);
        // Rows the database refused (unknown customers) arrive from the writer thread: the report is in line order.
        run.Errors = JsonSerializer.Serialize(state.Errors.OrderBy(e => e.Line).ToList(), JsonConversion.Options);
        db.ChangeTracker.Clear();
        db.ImportRuns.Update(run);
        await db.SaveChangesAsync(CancellationToken.None);
        return AsReport(run);
    }

    public static ImportReport AsReport(ImportRun run) => new(run.Id, run.Kind, run.FileName, run.Status, run.StartedAt, run.FinishedAt,
        run.RowsRead, run.RowsAccepted, run.RowsRejected, run.RowsCreated, run.RowsUpdated, run.RowsUnchanged,
        JsonSerializer.Deserialize<List<string>>(run.IgnoredColumns, JsonConversion.Options) ?? [],
        JsonSerializer.Deserialize<List<ImportError>>(run.Errors, JsonConversion.Options) ?? [],
        run.RowsRejected > MaxReportedErrors);

    /// <summary>The line of the first byte that is not UTF-8, read in blocks so any file size fits in memory.</summary>
    static async Task<long?> FindInvalidUtf8LineAsync(string path, CancellationToken ct)
    {
        var decoder = new UTF8Encoding(false, true).GetDecoder();
        var buffer = new byte[1 << 20];
        var chars = new char[buffer.Length + 4];
        long line = 1;
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: true);
        int read;
        while ((read = await file.ReadAsync(buffer, ct)) > 0)
        {
            try { decoder.GetChars(buffer, 0, read, chars, 0, flush: false); }
            catch (DecoderFallbackException e)
            {
                var at = Math.Clamp(e.Index < 0 ? 0 : e.Index, 0, read);
                return line + buffer.AsSpan(0, at).Count((byte)'\n');
            }
            line += buffer.AsSpan(0, read).Count((byte)'\n');
        }
        try { decoder.GetChars(buffer, 0, 0, chars, 0, flush: true); }
        catch (DecoderFallbackException) { return line; }
        return null;
    }

    /// <summary>Semicolon when the header has more semicolons than commas (German Excel), else comma.</summary>
    static char DetectDelimiter(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var header = reader.ReadLine() ?? "";
        return header.Count(c => c == ';') > header.Count(c => c == ',') ? ';' : ',';
    }

    static Columns MapHeader(List<string> header, ImportKind kind, ImportState state)
    {
        var aliases = kind switch { ImportKind.Customers => CustomerColumns, ImportKind.Orders => OrderColumns, _ => ConsentColumns };
        var columns = new Columns();
        for (var i = 0; i < header.Count; i++)
        {
            var name = header[i].Trim().TrimStart('\uFEFF');
            if (name.Length > 0) columns.Width = i + 1;
            var attribute = kind == ImportKind.Customers ? AttributeName(name) : null;
            if (attribute is not null) columns.Attributes.Add((attribute, i));
            else if (aliases.TryGetValue(CsvValues.HeaderKey(name), out var field) && !columns.Fields.ContainsKey(field))
            {
                columns.Fields[field] = i;
                columns.Headers[field] = name;
            }
            else if (name.Length > 0) state.IgnoredColumns.Add(name);
        }
        return columns;
    }

    static string? AttributeName(string header)
    {
        foreach (var prefix in new[] { "attr.", "attributes.", "attribute." })
            if (header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && header.Length > prefix.Length) return header[prefix.Length..];
        return null;
    }

    static Dictionary<string, string> Aliases(Dictionary<string, string[]> fields) =>
        fields.SelectMany(f => f.Value.Select(alias => (alias, f.Key))).ToDictionary(p => p.alias, p => p.Key);

    sealed class Columns
    {
        /// <summary>How many columns the header names (up to its last non-empty one): a row with more values is shifted.</summary>
        public int Width { get; set; }
        public Dictionary<string, int> Fields { get; } = [];
        public Dictionary<string, string> Headers { get; } = [];
        public List<(string Name, int Index)> Attributes { get; } = [];

        public string? Get(List<string> record, string field) =>
            Fields.TryGetValue(field, out var i) && i < record.Count && record[i].Trim() is { Length: > 0 } value ? value : null;

        public string NameOf(string field) => Headers.TryGetValue(field, out var header) ? header : RetentionDb.SnakeCase(field);

        /// <summary>The CSV column behind a validation path such as <c>lines[0].sku</c> or <c>attributes.plan</c>.</summary>
        public string ColumnFor(string path)
        {
            if (path.StartsWith("attributes.", StringComparison.Ordinal)) return "attr." + path["attributes.".Length..];
            var field = path.StartsWith("lines[0].", StringComparison.Ordinal) ? path["lines[0].".Length..] : path;
            var bracket = field.IndexOf('[');
            if (bracket > 0) field = field[..bracket];
            return NameOf(field);
        }
    }

    sealed class ImportState
    {
        public long RowsRead;
        public long Rejected;
        public long Accepted, Created, Updated, Unchanged;
        public List<ImportError> Errors { get; } = [];
        public List<string> IgnoredColumns { get; } = [];

        // The reader and the writer thread both reject rows.
        public void Reject(ImportError error)
        {
            lock (this)
            {
                Rejected++;
                if (Errors.Count < MaxReportedErrors) Errors.Add(error);
            }
        }

        /// <summary>A row with every one of its problems, each naming its column.</summary>
        public void Reject(long line, Columns columns, ValidationErrors errors)
        {
            lock (this)
            {
                Rejected++;
                foreach (var (path, message) in errors.Messages)
                    if (Errors.Count < MaxReportedErrors) Errors.Add(new ImportError(line, columns.ColumnFor(path), $"{columns.ColumnFor(path)} {message}"));
            }
        }

        public void Merged(MergeResult result, Chunk chunk)
        {
            lock (this)
            {
                foreach (var line in result.UnknownCustomerLines)
                    Reject(new ImportError(line, "customer_id", "customer_id names no known customer; import the customers first."));
                Accepted += chunk.Rows - result.UnknownCustomerLines.Count;
                Created += result.Created;
                Updated += result.Updated;
                Unchanged += result.Unchanged;
            }
        }
    }
}
