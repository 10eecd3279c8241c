using Microsoft.EntityFrameworkCore;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RetentionCampaigns.Data;
using RetentionCampaigns.Imports;

namespace RetentionCampaigns.Tests.Imports;

public sealed class CsvImportTests
{
    const string CustomersCsv = """"
        Kundennummer;E-Mail;Vorname;Nachname;Land;Sprache;Signed up at;Tags;attr.Plan
        K1;jürgen.groß@beispiel.de;Jürgen;Groß;DE;de;01.03.2024;vip|newsletter;gold
        K2;"anna@example.com";"Anna; ""Annie""";Smith;GB;en;2024-03-02T10:00:00Z;;
        K3;kein-at-zeichen;Kai;Kaputt;DE;de;;;
        K4;k4@beispiel.de;Karla;Kurz;DE;xx;;;

        K5;k5@beispiel.de;Lena;Lang;AT;;2024-13-45;;
        K6;k6@beispiel.de;Ole;Ort;CH;de;;;silver
        """";

    static async Task<JsonElement> UploadAsync(RetentionApp app, string kind, byte[] content, int status)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, "file", $"{kind}.csv");
        var response = await app.Api.PostAsync($"/api/imports/{kind}", form);
        return await response.JsonAsync(status);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task CustomersCsvLandsValidRowsAndReportsInvalidOnesByLineAndColumn(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var report = await UploadAsync(app, "customers", Encoding.UTF8.GetBytes(CustomersCsv), 201);
        Assert.Equal("completed", report.GetProperty("status").GetString());
        Assert.Equal(6, report.GetProperty("rowsRead").GetInt32());
        Assert.Equal(3, report.GetProperty("rowsAccepted").GetInt32());
        Assert.Equal(3, report.GetProperty("created").GetInt32());
        var errors = report.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("line").GetInt32(), e.GetProperty("column").GetString())).ToList();
        Assert.Equal([(4, "E-Mail"), (5, "Sprache"), (7, "Signed up at")], errors);

        var jurgen = (await (await app.Api.GetAsync("/api/customers/K1")).JsonAsync(200)).GetProperty("customer");
        Assert.Equal("jürgen.groß@beispiel.de", jurgen.GetProperty("email").GetString());
        Assert.Equal("Groß", jurgen.GetProperty("lastName").GetString());
        Assert.Equal(["vip", "newsletter"], jurgen.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("gold", jurgen.GetProperty("attributes").GetProperty("Plan").GetString());
        var anna = (await (await app.Api.GetAsync("/api/customers/K2")).JsonAsync(200)).GetProperty("customer");
        Assert.Equal("Anna; \"Annie\"", anna.GetProperty("firstName").GetString());

        var again = await UploadAsync(app, "customers", Encoding.UTF8.GetBytes(CustomersCsv), 201);
        Assert.Equal((0, 0, 3), (again.GetProperty("created").GetInt32(), again.GetProperty("updated").GetInt32(), again.GetProperty("unchanged").GetInt32()));
        Assert.Equal(3, await app.WithDbAsync(db => Task.FromResult(db.Customers.Count())));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task OrdersCsvWithDecimalCommaAndLinesIsImportedOnceAndUnknownCustomersAreReported(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await UploadAsync(app, "customers", Encoding.UTF8.GetBytes(CustomersCsv), 201);
        var orders = """
            order_id;customer_id;order_date;amount;currency;refunded;sku;product_name;category;quantity;unit_price
            B1;K1;01.06.2025 14:30;1.234,56;EUR;0;KAF-1;Espresso Bohnen;Kaffee;2;600,00
            B1;K1;01.06.2025 14:30;1.234,56;EUR;0;ZUB-1;Milchkännchen;Zubehör;1;34,56
            B2;K2;2025-06-02T09:00:00Z;19.90;EUR;19.90;TEE-1;Earl Grey;Tee;1;19.90
            B3;GHOST;2025-06-03;5,00;EUR;;;;;;
            B4;K1;2025-06-04;-3,00;EUR;;;;;;
            B5;K6;2025-06-05;12,345;EUR;;;;;;
            B6;K6;2025-06-06;10;USD;;;;;;
            """;
        var report = await UploadAsync(app, "orders", Encoding.UTF8.GetBytes(orders), 201);
        Assert.Equal(3, report.GetProperty("rowsAccepted").GetInt32());
        Assert.Equal(2, report.GetProperty("created").GetInt32());
        var errors = report.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("line").GetInt32(), e.GetProperty("column").GetString())).OrderBy(e => e.Item1).ToList();
        Assert.Equal([(5, "customer_id"), (6, "amount"), (7, "amount"), (8, "currency")], errors);

        var b1 = await (await app.Api.GetAsync("/api/orders/B1")).JsonAsync(200);
        Assert.Equal(1234.56m, b1.GetProperty("amount").GetDecimal());
        Assert.Equal(new DateTime(2025, 6, 1, 12, 30, 0, DateTimeKind.Utc), b1.GetProperty("orderedAt").GetDateTime().ToUniversalTime()); // Berlin summer time
        Assert.Equal(["KAF-1", "ZUB-1"], b1.GetProperty("lines").EnumerateArray().Select(l => l.GetProperty("sku").GetString()));
        Assert.Equal(34.56m, b1.GetProperty("lines")[1].GetProperty("unitPrice").GetDecimal());

        var again = await UploadAsync(app, "orders", Encoding.UTF8.GetBytes(orders), 201);
        Assert.Equal((0, 0), (again.GetProperty("created").GetInt32(), again.GetProperty("updated").GetInt32()));
        Assert.Equal((2, 3), await app.WithDbAsync(db => Task.FromResult((db.Orders.Count(), db.OrderLines.Count()))));

        // The line of an unknown customer's order is not written, though an order of that id exists (B1 is K1's).
        var ghost = await UploadAsync(app, "orders", Encoding.UTF8.GetBytes(
            "order_id;customer_id;order_date;amount;sku;product_name;quantity;unit_price\nB1;GHOST;2025-06-01;5;KAF-9;Fremd;1;5\n"), 201);
        Assert.Equal([(2, "customer_id")], ghost.GetProperty("errors").EnumerateArray().Select(e => (e.GetProperty("line").GetInt32(), e.GetProperty("column").GetString())));
        Assert.Equal((2, 3), await app.WithDbAsync(db => Task.FromResult((db.Orders.Count(), db.OrderLines.Count()))));

        // A payment fingerprint is kept when a later import leaves the column out, and replaced when it gives another.
        async Task<(int Created, int Updated, string? Fingerprint)> ImportB7Async(string csv)
        {
            var result = await UploadAsync(app, "orders", Encoding.UTF8.GetBytes(csv), 201);
            var b7 = await (await app.Api.GetAsync("/api/orders/B7")).JsonAsync(200);
            return (result.GetProperty("created").GetInt32(), result.GetProperty("updated").GetInt32(), b7.GetProperty("paymentFingerprint").GetString());
        }
        Assert.Equal((1, 0, "fp_k1"), await ImportB7Async("order_id;customer_id;order_date;amount;payment_fingerprint\nB7;K1;2025-06-07;10;fp_k1\n"));
        Assert.Equal((0, 1, "fp_k1"), await ImportB7Async("order_id;customer_id;order_date;amount\nB7;K1;2025-06-07;11\n"));
        Assert.Equal((0, 0, "fp_k1"), await ImportB7Async("order_id;customer_id;order_date;amount;payment_fingerprint\nB7;K1;2025-06-07;11;fp_k1\n"));
        Assert.Equal((0, 1, "fp_new"), await ImportB7Async("order_id;customer_id;order_date;amount;payment_fingerprint\nB7;K1;2025-06-07;11;fp_new\n"));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AFileInTheWrongEncodingIsRefusedWholeNamingTheLine(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var latin1 = Encoding.Latin1.GetBytes("external_id,email,last_name\nK1,a@beispiel.de,Meier\nK2,b@beispiel.de,Müller\n");
        using var content = new ByteArrayContent(latin1);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        var errors = await (await app.Api.PostAsync("/api/imports/customers", content)).ProblemErrorsAsync(422);
        Assert.Contains("line 3", errors.Single().Value.Single());
        Assert.Equal(0, await app.WithDbAsync(db => Task.FromResult(db.Customers.Count())));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AMissingRequiredColumnIsRefusedBeforeAnyRowIsWritten(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var content = new StringContent("external_id,first_name\nK1,Jana\n", Encoding.UTF8, "text/csv");
        var errors = await (await app.Api.PostAsync("/api/imports/customers", content)).ProblemErrorsAsync(422);
        Assert.Contains("email", errors.Keys.Single());
        Assert.Equal(0, await app.WithDbAsync(db => Task.FromResult(db.Customers.Count())));
        await (await app.Api.PostAsync("/api/imports/products", new StringContent("a\n1\n"))).ProblemErrorsAsync(404);
        var list = await (await app.Api.GetAsync("/api/imports")).JsonAsync(200);
        Assert.Equal("rejected", list[0].GetProperty("status").GetString());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ALargeOrdersFileImportsInChunksAndReimportsAsUnchanged(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var dir = Directory.CreateTempSubdirectory("rc-import");
        var customers = Path.Combine(dir.FullName, "customers.csv");
        var orders = Path.Combine(dir.FullName, "orders.csv");
        await File.WriteAllLinesAsync(customers, ["external_id,email"], Encoding.UTF8);
        await File.AppendAllLinesAsync(customers, Enumerable.Range(1, 2_000).Select(i => $"C{i},c{i}@beispiel.de"));
        await File.WriteAllLinesAsync(orders, ["order_id,customer_id,ordered_at,amount,sku,category"], Encoding.UTF8);
        const int rows = CsvImporter.ChunkRows * 2 + 500;
        await File.AppendAllLinesAsync(orders, Enumerable.Range(1, rows).Select(i => $"O{i},C{i % 2_000 + 1},2025-01-01T00:00:00Z,{i % 500}.99,S{i % 7},Kat{i % 3}"));

        var first = await app.ServiceAsync<CsvImporter, ImportReport>(i => i.ImportAsync(ImportKind.Customers, customers, "customers.csv", null, default));
        Assert.Equal(2_000, first.Created);
        var progress = new List<ImportProgress>();
        var imported = await app.ServiceAsync<CsvImporter, ImportReport>(i => i.ImportAsync(ImportKind.Orders, orders, "orders.csv", new SyncProgress(progress), default));
        Assert.Equal(("completed", rows, 0L), (imported.Status, imported.Created, imported.RowsRejected));
        Assert.Equal(3, progress.Count);
        var again = await app.ServiceAsync<CsvImporter, ImportReport>(i => i.ImportAsync(ImportKind.Orders, orders, "orders.csv", null, default));
        Assert.Equal((0L, 0L, (long)rows), (again.Created, again.Updated, again.Unchanged));
        Assert.Equal(rows, await app.WithDbAsync(db => Task.FromResult(db.OrderLines.Count())));
        dir.Delete(recursive: true);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ALaterRowForAnOrderWinsOverEarlierChunksOfTheFile(DatabaseProvider store)
    {
        // Each chunk is its own transaction: the third chunk's rows must land after the first's and the second's.
        await using var app = await RetentionApp.StartAsync(store);
        await UploadAsync(app, "customers", Encoding.UTF8.GetBytes("external_id,email\nC1,c1@beispiel.de\nC2,c2@beispiel.de\n"), 201);
        const int rows = CsvImporter.ChunkRows * 2 + 500;
        string[] orders = ["order_id,customer_id,ordered_at,amount,sku", .. Enumerable.Range(1, rows).Select(i => $"O{i},C1,2025-01-01T00:00:00Z,1.00,S"),
            "O1,C2,2025-02-01T00:00:00Z,3.00,S", $"O{CsvImporter.ChunkRows + 1},C2,2025-02-01T00:00:00Z,4.00,S"];
        var imported = await UploadAsync(app, "orders", Encoding.UTF8.GetBytes(string.Join('\n', orders)), 201);
        Assert.Equal(("completed", 0), (imported.GetProperty("status").GetString(), imported.GetProperty("rowsRejected").GetInt32()));
        var restated = await app.WithDbAsync(db => db.Orders.Where(o => o.ExternalId == "O1" || o.ExternalId == $"O{CsvImporter.ChunkRows + 1}")
            .OrderBy(o => o.AmountMinor).Select(o => new { o.ExternalId, o.AmountMinor, Customer = o.Customer!.ExternalId }).ToListAsync());
        Assert.Equal([("O1", 300L, "C2"), ($"O{CsvImporter.ChunkRows + 1}", 400L, "C2")], restated.Select(o => (o.ExternalId, o.AmountMinor, o.Customer)));
    }

    sealed class SyncProgress(List<ImportProgress> seen) : IProgress<ImportProgress>
    {
        public void Report(ImportProgress value) { lock (seen) seen.Add(value); }
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ConsentCsvAppendsEventsOnceAndReportsBadRowsByColumn(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await UploadAsync(app, "customers", Encoding.UTF8.GetBytes("id;email\nC1;c1@example.com\nC2;c2@example.com\n"), 201);
        const string csv = """
            Kundennummer;Purpose;Status;Lawful basis;Datum;IP;User agent;Text version
            C1;email_marketing;granted;consent;2026-01-10T10:00:00Z;203.0.113.5;Mozilla/5.0;2025-12
            C1;email_marketing;withdrawn;;2026-02-01T09:00:00Z;;;
            C2;email_marketing;granted;existing_customer;01.03.2026 12:00;;;
            C3;email_marketing;granted;consent;2026-01-10T10:00:00Z;;;
            C2;tracking;granted;;2026-01-01;;;
            C2;newsletter;granted;consent;2026-01-01;;;
            C2;tracking;granted;consent;;;;
            """;
        var report = await UploadAsync(app, "consents", Encoding.UTF8.GetBytes(csv), 201);
        Assert.Equal((7, 3, 3), (report.GetProperty("rowsRead").GetInt32(), report.GetProperty("rowsAccepted").GetInt32(), report.GetProperty("created").GetInt32()));
        var errors = report.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("line").GetInt32(), e.GetProperty("column").GetString())).OrderBy(e => e.Item1).ToList();
        Assert.Equal([(5, "customer_id"), (6, "Lawful basis"), (7, "Purpose"), (8, "Datum")], errors);

        var c1 = await (await app.Api.GetAsync("/api/consents/C1")).JsonAsync(200);
        var marketing = c1.GetProperty("current").GetProperty("email_marketing");
        Assert.Equal(("withdrawn", "consent"), (marketing.GetProperty("status").GetString(), marketing.GetProperty("lawfulBasis").GetString()));
        var grant = c1.GetProperty("events")[0];
        Assert.Equal(("203.0.113.5", "Mozilla/5.0", "2025-12", "import"), (grant.GetProperty("ipAddress").GetString(), grant.GetProperty("userAgent").GetString(),
            grant.GetProperty("consentTextVersion").GetString(), grant.GetProperty("source").GetString()));
        var c2 = await (await app.Api.GetAsync("/api/consents/C2")).JsonAsync(200);
        Assert.Equal("existing_customer", c2.GetProperty("current").GetProperty("email_marketing").GetProperty("lawfulBasis").GetString());

        // The same file again adds nothing: an event is known by customer, purpose, time and status.
        var again = await UploadAsync(app, "consents", Encoding.UTF8.GetBytes(csv), 201);
        Assert.Equal((0, 3), (again.GetProperty("created").GetInt32(), again.GetProperty("unchanged").GetInt32()));
        Assert.Equal(3, await app.WithDbAsync(db => Task.FromResult(db.ConsentEvents.Count())));
        var missing = await UploadAsync(app, "consents", Encoding.UTF8.GetBytes("customer;purpose;status\nC1;tracking;granted\n"), 422);
        Assert.Contains("Required column missing: occurred_at", missing.GetProperty("detail").GetString());
    }
}
