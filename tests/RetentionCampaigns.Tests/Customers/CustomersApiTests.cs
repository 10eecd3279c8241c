using System.Net;
using System.Net.Http.Json;
using System.Text;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Customers;

public sealed class CustomersApiTests
{
    static object Jana(string id = "C1", string email = "jana.mueller@beispiel.de") => new
    {
        externalId = id, email, firstName = "Jana", lastName = "Müller", locale = "de-AT", timeZone = "Europe/Vienna",
        country = "at", signedUpAt = "2024-03-01T10:00:00+01:00", tags = new[] { "vip", "newsletter" },
        attributes = new Dictionary<string, object> { ["plan"] = "gold", ["points"] = 120, ["b2b"] = false },
    };

    [Theory, ClassData(typeof(BothStores))]
    public async Task PutCreatesACustomerThatReadsBackWithEveryField(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var created = await app.Api.PutAsJsonAsync("/api/customers/C1", Jana());
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/api/customers/C1", created.Headers.Location?.OriginalString);

        var read = await (await app.Api.GetAsync("/api/customers/C1")).JsonAsync(200);
        var customer = read.GetProperty("customer");
        Assert.Equal("Müller", customer.GetProperty("lastName").GetString());
        Assert.Equal("de", customer.GetProperty("locale").GetString());
        Assert.Equal("AT", customer.GetProperty("country").GetString());
        Assert.Equal("Europe/Vienna", customer.GetProperty("timeZone").GetString());
        Assert.Equal(new DateTime(2024, 3, 1, 9, 0, 0, DateTimeKind.Utc), customer.GetProperty("signedUpAt").GetDateTime().ToUniversalTime());
        Assert.Equal(["vip", "newsletter"], customer.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(120, customer.GetProperty("attributes").GetProperty("points").GetInt32());
        Assert.Equal("none", read.GetProperty("consent").GetProperty("email_marketing").GetProperty("status").GetString());
        Assert.False(read.GetProperty("marketingEmailAllowed").GetBoolean());
        Assert.Equal(0, read.GetProperty("orderCount").GetInt32());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task PuttingTheSameCustomerAgainChangesNothing(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var first = await (await app.Api.PutAsJsonAsync("/api/customers/C1", Jana())).JsonAsync(201);
        var again = await (await app.Api.PutAsJsonAsync("/api/customers/C1", Jana())).JsonAsync(200);
        Assert.Equal(first.GetProperty("updatedAt").GetString(), again.GetProperty("updatedAt").GetString());

        var changed = await (await app.Api.PutAsJsonAsync("/api/customers/C1", new { email = "jana@neu.de" })).JsonAsync(200);
        Assert.Equal("jana@neu.de", changed.GetProperty("email").GetString());
        Assert.Equal("Jana", changed.GetProperty("firstName").GetString()); // left out: kept
        Assert.NotEqual(first.GetProperty("updatedAt").GetString(), changed.GetProperty("updatedAt").GetString());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task BatchUpsertCountsCreatedUpdatedAndUnchanged(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 2500).Select(i => new { externalId = $"C{i}", email = $"kunde{i}@beispiel.de", country = i % 2 == 0 ? "DE" : "GB" }).ToList();
        var first = await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        Assert.Equal(2500, first.GetProperty("created").GetInt32());

        var again = await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        Assert.Equal((0, 0, 2500), (again.GetProperty("created").GetInt32(), again.GetProperty("updated").GetInt32(), again.GetProperty("unchanged").GetInt32()));

        customers[9] = customers[9] with { email = "neu@beispiel.de" };
        var third = await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        Assert.Equal(1, third.GetProperty("updated").GetInt32());
        Assert.Equal(2500, await app.WithDbAsync(db => Task.FromResult(db.Customers.Count())));
        var english = await (await app.Api.GetAsync("/api/customers/C1")).JsonAsync(200);
        Assert.Equal("en", english.GetProperty("customer").GetProperty("locale").GetString());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ABatchWithOneInvalidCustomerWritesNothingAndNamesTheField(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var response = await app.Api.PostAsJsonAsync("/api/customers/batch", new
        {
            customers = new object[]
            {
                new { externalId = "C1", email = "ok@beispiel.de" },
                new { externalId = "C2", email = "not-an-address" },
                new { externalId = "C3", email = "ok3@beispiel.de", locale = "fr", timeZone = "Mars/Olympus" },
                new { email = "missing-id@beispiel.de" },
                new { externalId = "C1", email = "dup@beispiel.de" },
            },
        });
        var errors = await response.ProblemErrorsAsync(400);
        Assert.Contains("customers[1].email", errors.Keys);
        Assert.Contains("customers[2].locale", errors.Keys);
        Assert.Contains("customers[2].timeZone", errors.Keys);
        Assert.Contains("customers[3].externalId", errors.Keys);
        Assert.Contains("customers[4].externalId", errors.Keys);
        Assert.DoesNotContain("customers[0].email", errors.Keys);
        Assert.Equal(0, await app.WithDbAsync(db => Task.FromResult(db.Customers.Count())));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ABatchOverTheLimitIsRefusedWith413(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 10_001).Select(i => new { externalId = $"C{i}", email = $"k{i}@beispiel.de" });
        var errors = await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).ProblemErrorsAsync(413);
        Assert.Contains("customers", errors.Keys);
        Assert.Equal(0, await app.WithDbAsync(db => Task.FromResult(db.Customers.Count())));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task MalformedJsonAndWrongTypesAreProblemsNamingTheField(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var malformed = await app.Api.PostAsync("/api/customers/batch", new StringContent("{\"customers\": [ {\"externalId\": ", Encoding.UTF8, "application/json"));
        await malformed.ProblemErrorsAsync(400);

        var wrongType = await app.Api.PostAsync("/api/customers/batch", new StringContent(
            """{"customers": [{"externalId": "C1", "email": "a@b.de"}, {"externalId": "C2", "email": "c@d.de", "signedUpAt": "yesterday"}]}""",
            Encoding.UTF8, "application/json"));
        var errors = await wrongType.ProblemErrorsAsync(400);
        Assert.Contains("customers[1].signedUpAt", errors.Keys);

        var wrongArray = await app.Api.PutAsync("/api/customers/C1", new StringContent("""{"email": "a@b.de", "tags": "vip"}""", Encoding.UTF8, "application/json"));
        Assert.Contains("tags", (await wrongArray.ProblemErrorsAsync(400)).Keys);

        var nestedAttribute = await app.Api.PutAsync("/api/customers/C1", new StringContent("""{"email": "a@b.de", "attributes": {"x": {"y": 1}}}""", Encoding.UTF8, "application/json"));
        Assert.Contains("attributes.x", (await nestedAttribute.ProblemErrorsAsync(400)).Keys);

        var noBody = await app.Api.PostAsync("/api/customers/batch", new StringContent("", Encoding.UTF8, "application/json"));
        await noBody.ProblemErrorsAsync(400);
        Assert.Equal(0, await app.WithDbAsync(db => Task.FromResult(db.Customers.Count())));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AnUnknownCustomerIs404AndAMismatchedIdIs400(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.GetAsync("/api/customers/nobody")).ProblemErrorsAsync(404);
        var errors = await (await app.Api.PutAsJsonAsync("/api/customers/C1", new { externalId = "C2", email = "a@b.de" })).ProblemErrorsAsync(400);
        Assert.Contains("externalId", errors.Keys);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task EveryApiEndpointNeedsAValidKey(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var anonymous = app.CreateClient();
        foreach (var url in new[] { "/api/customers", "/api/customers/C1", "/api/orders/O1", "/api/imports", "/api/consents/C1" })
        {
            var response = await anonymous.GetAsync(url);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", "rc_forged");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PutAsJsonAsync("/api/customers/C1", new { email = "a@b.de" })).StatusCode);
        Assert.Equal(0, await app.WithDbAsync(db => Task.FromResult(db.Customers.Count())));
        await (await anonymous.GetAsync("/health")).JsonAsync(200);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task CustomersAreListedInPagesByExternalId(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 5).Select(i => new { externalId = $"C{i}", email = $"k{i}@beispiel.de" });
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        var page = await (await app.Api.GetAsync("/api/customers?limit=3")).JsonAsync(200);
        Assert.Equal(["C1", "C2", "C3"], page.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("externalId").GetString()));
        var next = await (await app.Api.GetAsync($"/api/customers?limit=3&after={page.GetProperty("nextAfter").GetString()}")).JsonAsync(200);
        Assert.Equal(["C4", "C5"], next.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("externalId").GetString()));
    }
}
