using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Segments;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Api;

/// <summary>
/// The OpenAPI document as a client generator needs it: the Bearer scheme declared, request fields optional unless
/// the endpoint says otherwise (every input record's fields are nullable: left out means "keep" or "default"), the
/// closed value sets as enums, and an example body for each create request.
/// </summary>
public static class OpenApiSetup
{
    /// <summary>Fields whose values form a closed set, by the record that declares them and the field's JSON name.</summary>
    static readonly Dictionary<(Type, string), string[]> Enums = new()
    {
        [(typeof(ScheduleInput), "kind")] = ["once", "cron"],
        [(typeof(CampaignPolicy), "onCap")] = ["defer", "skip"],
        [(typeof(CampaignOffer), "codes")] = ["pool", "generated"],
        [(typeof(CampaignInput), "defaultLocale")] = LocaleFormat.Supported,
        [(typeof(CampaignItem), "state")] = CampaignStates.All,
        [(typeof(TemplateInput), "kind")] = TemplateKinds.All,
        [(typeof(CheckInput), "kind")] = TemplateKinds.All,
        [(typeof(ConsentEventInput), "purpose")] = ConsentVocabulary.Purposes,
        [(typeof(ConsentEventInput), "status")] = ConsentVocabulary.Statuses,
        [(typeof(DeliveryRow), "status")] = DeliveryStatuses.All,
        [(typeof(SegmentMember), "rfmGroup")] = RfmGroups.All,
        [(typeof(SegmentMember), "npsCategory")] = SegmentFields.NpsCategories,
    };

    static readonly Dictionary<string, string> Examples = new()
    {
        ["api/campaigns"] = """
            {"name": "Win back lapsed customers", "description": "Monthly, to customers gone quiet", "segmentId": 4, "templateKey": "win-back",
             "defaultLocale": "de", "schedule": {"kind": "cron", "cron": "0 0 10 ? * MON", "timeZone": "Europe/Berlin"}, "holdoutPercent": 10,
             "policy": {"frequencyCap": 2, "frequencyWindowDays": 7, "quietFrom": "21:00", "quietUntil": "08:00", "repeatAfterDays": 30},
             "offer": {"codes": "generated", "prefix": "BACK-", "percentOff": 15, "minimumOrder": 30, "validDays": 30}}
            """,
        ["api/segments"] = """
            {"name": "Lapsed promoters", "description": "Liked us, but no order for 90 days",
             "rule": {"all": [{"field": "nps_category", "op": "=", "value": "promoter"}, {"field": "recency_days", "op": ">=", "value": 90}]}}
            """,
        ["api/templates"] = """
            {"key": "spring-sale", "name": "Spring sale", "kind": "marketing",
             "content": {"de": {"subject": "Frühling{{ if customer.first_name }}, {{ customer.first_name }}{{ end }}!", "html": "{{ wrap layout }}<p>{{ customer.greeting }}</p><p>Neu im Shop.</p>{{ end }}"},
                         "en": {"subject": "Spring{{ if customer.first_name }}, {{ customer.first_name }}{{ end }}!", "html": "{{ wrap layout }}<p>{{ customer.greeting }}</p><p>New in the shop.</p>{{ end }}"}}}
            """,
    };

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["Bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer", In = ParameterLocation.Header,
                Description = "An API key: create one with the CLI (apikey create NAME); the demo prints one at start.",
            };
            foreach (var (path, item) in document.Paths)
            {
                if (!path.StartsWith("/api/", StringComparison.Ordinal) || item.Operations is null) continue;
                foreach (var operation in item.Operations.Values)
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] });
                }
            }
            return Task.CompletedTask;
        });
        options.AddSchemaTransformer((schema, context, _) =>
        {
            var type = context.JsonTypeInfo.Type;
            if (schema.Properties is { Count: > 0 } && (type.Name.EndsWith("Input", StringComparison.Ordinal) || type.Name.EndsWith("Request", StringComparison.Ordinal)
                                                         || type == typeof(CampaignPolicy)))
                schema.Required?.Clear();
            if (context.JsonPropertyInfo is { } property && property.DeclaringType is { } declaring
                && Enums.TryGetValue((declaring, property.Name), out var values))
                schema.Enum = values.Select(v => (JsonNode)JsonValue.Create(v)!).ToList();
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.HttpMethod == "POST" && context.Description.RelativePath is { } path && Examples.TryGetValue(path.TrimEnd('/'), out var example)
                && operation.RequestBody?.Content is { } content && content.TryGetValue("application/json", out var json))
                json.Example = JsonNode.Parse(example);
            return Task.CompletedTask;
        });
    }
}
