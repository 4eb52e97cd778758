/**
 * Google Forms -> firsthour intake, via the form's response spreadsheet.
 *
 * Why the spreadsheet and not the form: only the Google Sheets "form submit"
 * event carries e.namedValues (question title -> array of strings). The
 * form-bound trigger's event has e.response (a FormResponse) instead.
 * https://developers.google.com/apps-script/guides/triggers/events
 *
 * Setup
 *  1. In the Google Form: Responses > Link to Sheets (create or pick a sheet).
 *  2. In that spreadsheet: Extensions > Apps Script. Replace Code.gs with this file.
 *  3. Project Settings (gear) > Script properties > Add:
 *       FIRSTHOUR_URL    https://intake.example.com/leads/google-forms   (placeholder: your intake URL)
 *       FIRSTHOUR_TOKEN  (optional) a bearer token, if the google-forms source requires one
 *  4. Triggers (clock icon) > Add Trigger:
 *       function: postLead   deployment: Head   event source: From spreadsheet
 *       event type: On form submit   failure notifications: Notify me immediately
 *     Approve the authorisation prompt (scopes: spreadsheets, script.external_request).
 *  5. Submit the form once and check Executions for "firsthour answered 2xx".
 *
 * Body sent (compact JSON.stringify, UTF-8, Content-Type: application/json):
 *   {"namedValues":{"Timestamp":["11/22/2026 14:24:11"],"First name":["Daniel"],...}}
 * Each value is an array of strings. A checkbox question arrives as ONE string
 * joined with ", " (for example ["Lead routing, After-hours escalation"]), the
 * same text as its spreadsheet cell. Unanswered questions are [""].
 */

var DEFAULT_URL = 'https://intake.example.com/leads/google-forms'; // placeholder

/**
 * Installable "On form submit" trigger handler (From spreadsheet).
 * @param {GoogleAppsScript.Events.SheetsOnFormSubmit} e
 */
function postLead(e) {
  if (!e || !e.namedValues) {
    throw new Error('postLead must run from an installable "On form submit" trigger on the response spreadsheet');
  }

  var props = PropertiesService.getScriptProperties();
  var url = props.getProperty('FIRSTHOUR_URL') || DEFAULT_URL;
  var token = props.getProperty('FIRSTHOUR_TOKEN');

  var headers = {};
  if (token) {
    headers['Authorization'] = 'Bearer ' + token;
  }

  var options = {
    method: 'post',
    contentType: 'application/json',
    payload: JSON.stringify({ namedValues: e.namedValues }),
    headers: headers,
    muteHttpExceptions: true,   // read the status ourselves instead of throwing
    followRedirects: false
  };

  // Retry a few times on network errors and 5xx/429; a 4xx other than 429 is final.
  var delaysMs = [0, 2000, 8000];
  var lastError = null;
  for (var attempt = 0; attempt < delaysMs.length; attempt++) {
    if (delaysMs[attempt] > 0) {
      Utilities.sleep(delaysMs[attempt]);
    }
    try {
      var response = UrlFetchApp.fetch(url, options);
      var code = response.getResponseCode();
      if (code >= 200 && code < 300) {
        console.log('firsthour answered ' + code);
        return;
      }
      lastError = new Error('firsthour answered ' + code + ': ' + response.getContentText().slice(0, 500));
      if (code < 500 && code !== 429) {
        break;
      }
    } catch (err) {
      lastError = err;
    }
  }
  // Throwing marks the execution as failed, so the trigger's failure e-mail fires.
  throw lastError;
}
