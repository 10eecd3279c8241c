using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 15: an unclosed quote ended the file silently, extra values passed, German headers were unknown, errors came out of order.</summary>
public sealed class CsvImportFindingTests
{
    static async Task<JsonElement> UploadAsync(RetentionApp app, string kind, string csv)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(csv));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, "file", $"{kind}.csv");
        return await (await app.Api.PostAsync($"/api/imports/{kind}", form)).JsonAsync(201);
    }

    static List<(long Line, string? Column, string Reason)> Errors(JsonElement report) => report.GetProperty("errors").EnumerateArray()
        .Select(e => (e.GetProperty("line").GetInt64(), e.GetProperty("column").ValueKind == JsonValueKind.Null ? null : e.GetProperty("column").GetString(),
            e.GetProperty("reason").GetString()!)).ToList();

    [Theory, ClassData(typeof(BothStores))]
    public async Task ACsvImportReportsEveryProblemOfEveryRowInLineOrderAndKnowsGermanHeaders(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = await UploadAsync(app, "customers", """
            Kundennummer;E-Mail;Vorname;Registriert am
            K1;k1@beispiel.de;Anna;01.03.2024
            K2;kein-at-zeichen;Ben;gestern
            K3;k3@beispiel.de;Cem;02.03.2024;überzählig
            K4;k4@beispiel.de;Dora;03.03.2024
            K5;k5@beispiel.de;"Eva;04.03.2024
            K6;k6@beispiel.de;Finn;05.03.2024
            """);
        Assert.Empty(customers.GetProperty("ignoredColumns").EnumerateArray());
        var errors = Errors(customers);
        Assert.Equal(errors.Select(e => e.Line).Order(), errors.Select(e => e.Line));
        // Both problems of line 3, each with its column.
        Assert.Contains(errors, e => e.Line == 3 && e.Column == "E-Mail");
        Assert.Contains(errors, e => e.Line == 3 && e.Column == "Registriert am");
        Assert.Contains(errors, e => e.Line == 4 && e.Reason.Contains("has 5 values but the header names 4 columns"));
        Assert.Contains(errors, e => e.Line == 6 && e.Reason.Contains("never closed") && e.Reason.Contains("lines 6-"));
        Assert.Equal(2, customers.GetProperty("rowsAccepted").GetInt64()); // K1 and K4; the open quote swallowed K6
        Assert.Equal(3, customers.GetProperty("rowsRejected").GetInt64());

        var orders = await UploadAsync(app, "orders", """
            Bestellnummer;Kundennummer;Bestelldatum;Betrag;Artikelnummer;Produkt;Kategorie;Menge;Einzelpreis
            B1;K1;01.04.2024;29,90;ESP-1;Espresso;Kaffee;2;14,95
            B2;NIEMAND;02.04.2024;10,00;TEE-1;Tee;Tee;1;10,00
            B3;K1;nie;zehn;TEE-1;Tee;Tee;1;10,00
            """);
        Assert.Empty(orders.GetProperty("ignoredColumns").EnumerateArray());
        var orderErrors = Errors(orders);
        Assert.Equal([3, 4, 4], orderErrors.Select(e => e.Line));
        var order = await (await app.Api.GetAsync("/api/orders/B1")).JsonAsync(200);
        var line = order.GetProperty("lines").EnumerateArray().Single();
        Assert.Equal(("Espresso", "Kaffee", 2), (line.GetProperty("productName").GetString(), line.GetProperty("category").GetString(), line.GetProperty("quantity").GetInt32()));
    }
}
